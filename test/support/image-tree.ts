import { cp, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { runProcess } from './process.js';

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  name: string;
  instructions: Instruction[];
}

/** What a container of the image would run and with what. */
export interface ImageTree {
  /** The final stage's WORKDIR, as a folder on this machine. */
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[] | null;
  /** Every COPY source taken from the build context, as written in the Dockerfile. */
  contextSources: string[];
}

/** A Dockerfile's stages and instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(trimmed)!;
    if (keyword!.toUpperCase() === 'FROM') {
      const alias = /\s+AS\s+(\S+)$/i.exec(args!);
      stages.push({ name: alias?.[1] ?? String(stages.length), instructions: [] });
    } else {
      stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args: args! });
    }
  }
  return stages;
}

/** `["a", "b"]` (exec form) or `a b` (shell form, run by /bin/sh -c). */
function commandForm(args: string): string[] {
  return args.trim().startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args];
}

/** `--from=build --chown=x a b dest` -> flags and paths. */
function copyArgs(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** The environment a RUN or a container gets: this machine's, minus the npm variables of the test's own `npm test`. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => !k.toLowerCase().startsWith('npm_') && v !== undefined)) as Record<string, string>;
  return { ...env, ...extra };
}

/**
 * Rebuilds the image's file tree under `root` the way `docker build` would: each stage gets
 * a folder standing for its filesystem; COPY takes only the named paths from `context` (or
 * from an earlier stage with --from), RUN runs there with /bin/sh. `runEnv` is added to every
 * RUN (e.g. npm's prefer-offline, so `npm ci` is served from the local cache).
 */
export async function replayImage(context: string, root: string, runEnv: Record<string, string> = {}): Promise<ImageTree> {
  const stages = parseDockerfile(await readFile(join(context, 'Dockerfile'), 'utf8'));
  const roots = new Map<string, string>();
  const contextSources: string[] = [];
  let tree!: ImageTree;
  for (const stage of stages) {
    const stageRoot = join(root, `stage-${stage.name}`);
    roots.set(stage.name, stageRoot);
    let workdir = '/';
    const onHost = (path: string) => join(stageRoot, posix.resolve(workdir, path));
    tree = { workdir: onHost('.'), env: {}, user: null, entrypoint: [], cmd: [], healthcheck: null, contextSources };
    for (const { keyword, args } of stage.instructions) {
      if (keyword === 'WORKDIR') {
        workdir = posix.resolve(workdir, args);
        tree.workdir = onHost('.');
        await mkdir(tree.workdir, { recursive: true });
      } else if (keyword === 'ENV') {
        for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) tree.env[key!] = value!;
      } else if (keyword === 'COPY') {
        const { from, sources, dest } = copyArgs(args);
        if (!from) contextSources.push(...sources);
        const fromRoot = from === undefined ? null : roots.get(from)!;
        for (const source of sources) {
          const target = sources.length > 1 || dest.endsWith('/') ? join(onHost(dest), basename(source)) : onHost(dest);
          if (fromRoot) {
            // Hard links: the same files as a copy, without copying a few hundred MB of node_modules.
            await mkdir(dirname(target), { recursive: true });
            const linked = await runProcess(['cp', '-al', join(fromRoot, source), target], { env: process.env });
            if (linked.code !== 0) throw new Error(`COPY --from=${from} ${source}: ${linked.stderr}`);
          } else {
            await cp(join(context, source), target, { recursive: true, verbatimSymlinks: true });
          }
        }
      } else if (keyword === 'RUN') {
        const result = await runProcess(commandForm(args), { cwd: tree.workdir, env: cleanEnv({ ...tree.env, ...runEnv }) });
        if (result.code !== 0) throw new Error(`RUN ${args} exited ${result.code}:\n${(result.stdout + result.stderr).slice(-3000)}`);
      } else if (keyword === 'USER') {
        tree.user = args;
      } else if (keyword === 'ENTRYPOINT') {
        tree.entrypoint = commandForm(args);
      } else if (keyword === 'CMD') {
        tree.cmd = commandForm(args);
      } else if (keyword === 'HEALTHCHECK') {
        tree.healthcheck = commandForm(args.replace(/^(--\S+\s+)*CMD\s+/, ''));
      } else {
        throw new Error(`the image replay does not know ${keyword}`);
      }
    }
  }
  return tree;
}
