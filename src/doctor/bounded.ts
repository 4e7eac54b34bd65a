import { errorMessage, ServiceError } from '../errors.js';
import type { DoctorCheck } from '../domain/doctor.js';

/** Seconds one doctor step may take: an unreachable service must not hang the command. */
export const STEP_SECONDS = 5;

/** Runs `work`, rejecting with a ServiceError when it takes longer than `seconds`. */
export async function bounded<T>(what: string, work: () => Promise<T>, seconds = STEP_SECONDS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServiceError(`${what} did not answer within ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A bounded check whose I/O may throw: the error becomes the line `onError` makes of it. */
export async function judged(what: string, work: () => Promise<DoctorCheck>, onError: (message: string, err: unknown) => DoctorCheck): Promise<DoctorCheck> {
  try {
    return await bounded(what, work);
  } catch (err) {
    return onError(errorMessage(err), err);
  }
}
