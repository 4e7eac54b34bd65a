import type { CopyTable, CopyValue } from './copy-text.js';
import { createRandom, type Random } from './random.js';

export const MACRO_FIRST_DAY = '1954-07-31';
export const MACRO_LAST_DAY = '2026-01-22';
/**
 * Rows before this day are month-ends (the old series are monthly); from it on, one row per
 * weekday except 1 January and 25 December, when no source publishes. 1986-01-02 is where
 * the first daily series (WTI spot) begins. Total: 10,771 rows, the production table has 10,759.
 */
export const MACRO_DAILY_FROM = '1986-01-02';

interface Indicator {
  column: string;
  /** First day with a value; earlier rows hold NULL, as the series did not exist yet. */
  since: string;
  /** 'log' walks the logarithm (prices), 'level' the value (rates), 'policy' moves in 25 bp steps. */
  kind: 'level' | 'log' | 'policy';
  /** [year, typical level] points; the walk is pulled towards the line through them, so decades look roughly right. */
  anchors: readonly (readonly [number, number])[];
  /** Standard deviation per square-root day, in the walked unit (policy rates jump instead). */
  volatility?: number;
  /** The column's numeric scale. */
  decimals: number;
  /** Level walks are reflected here (yields and policy rates stay positive). */
  floor?: number;
}

const INDICATORS: readonly Indicator[] = [
  { column: 'fed_funds', since: '1954-07-31', kind: 'policy', decimals: 2, floor: 0.05, anchors: [[1954, 0.8], [1960, 3.5], [1965, 4], [1970, 8], [1974, 11], [1977, 5], [1980, 17], [1982, 10], [1987, 6.5], [1990, 8], [1993, 3], [1995, 6], [2001, 4], [2002, 1.75], [2004, 1], [2006, 5.25], [2008, 2], [2009, 0.1], [2016, 0.4], [2019, 2.4], [2020, 0.1], [2022, 0.1], [2023, 4.5], [2024, 5.33], [2025, 4.4], [2026, 3.6]] },
  { column: 'cpi_yoy_us', since: '1954-07-31', kind: 'level', volatility: 0.04, decimals: 2, anchors: [[1954, 0.3], [1960, 1.5], [1966, 3], [1970, 5.7], [1974, 11], [1976, 5.8], [1980, 13.5], [1983, 3.2], [1990, 5.4], [1993, 3], [1998, 1.6], [2000, 3.4], [2003, 2.3], [2008, 3.8], [2009, -0.4], [2011, 3.2], [2015, 0.1], [2019, 1.8], [2020, 1.2], [2021, 4.7], [2022, 8], [2023, 4.1], [2024, 3], [2026, 2.7]] },
  { column: 'cpi_yoy_col', since: '1955-01-31', kind: 'level', volatility: 0.06, decimals: 2, anchors: [[1955, 5], [1965, 10], [1970, 8], [1975, 20], [1980, 26], [1990, 30], [1995, 20], [1999, 9], [2003, 6.5], [2010, 3.2], [2015, 6.8], [2016, 5.7], [2019, 3.8], [2020, 1.6], [2021, 5.6], [2022, 13], [2023, 9.3], [2024, 5.2], [2026, 5]] },
  { column: 'us10y', since: '1962-01-02', kind: 'level', volatility: 0.05, decimals: 3, floor: 0.3, anchors: [[1962, 4], [1970, 7.5], [1975, 8], [1981, 14], [1985, 10.5], [1990, 8.5], [1995, 6.5], [2000, 6], [2003, 4], [2007, 4.7], [2009, 3.3], [2012, 1.8], [2016, 1.8], [2019, 2], [2020, 0.9], [2022, 3.9], [2024, 4.2], [2025, 4.4], [2026, 4.15]] },
  { column: 'gold', since: '1968-04-01', kind: 'log', volatility: 0.01, decimals: 2, anchors: [[1968, 38], [1972, 60], [1980, 600], [1985, 320], [1990, 390], [1999, 280], [2005, 510], [2008, 870], [2011, 1570], [2013, 1200], [2016, 1150], [2019, 1520], [2020, 1900], [2022, 1800], [2024, 2050], [2025, 2650], [2026, 4300]] },
  { column: 'dxy', since: '1971-01-29', kind: 'log', volatility: 0.004, decimals: 4, anchors: [[1971, 120], [1973, 100], [1978, 88], [1985, 160], [1988, 90], [1995, 84], [2001, 118], [2008, 72], [2015, 98], [2017, 92], [2020, 96], [2022, 112], [2023, 102], [2024, 108], [2025, 98], [2026, 99]] },
  { column: 'us2y', since: '1976-06-30', kind: 'level', volatility: 0.05, decimals: 3, floor: 0.1, anchors: [[1976, 7], [1981, 14], [1985, 9], [1990, 8], [1993, 4], [1995, 6], [2000, 6], [2002, 2], [2004, 2.5], [2007, 4.5], [2009, 0.9], [2013, 0.3], [2016, 1], [2019, 1.6], [2020, 0.15], [2022, 4.4], [2024, 4.3], [2025, 3.9], [2026, 3.6]] },
  { column: 'wti', since: '1986-01-02', kind: 'log', volatility: 0.02, decimals: 2, anchors: [[1986, 18], [1990, 24], [1991, 20], [1999, 12], [2000, 30], [2004, 40], [2008, 100], [2009, 60], [2011, 95], [2014, 90], [2015, 48], [2016, 35], [2018, 60], [2020, 40], [2021, 70], [2022, 95], [2023, 78], [2024, 75], [2025, 65], [2026, 58]] },
  { column: 'brent', since: '1987-05-20', kind: 'log', volatility: 0.02, decimals: 2, anchors: [[1987, 18], [1990, 26], [1991, 20], [1999, 12], [2000, 30], [2004, 40], [2008, 100], [2009, 62], [2011, 110], [2014, 100], [2015, 50], [2016, 38], [2018, 68], [2020, 42], [2021, 74], [2022, 100], [2023, 82], [2024, 80], [2025, 70], [2026, 62]] },
  { column: 'vix', since: '1990-01-02', kind: 'log', volatility: 0.06, decimals: 2, anchors: [[1990, 18], [2026, 18]] },
  { column: 'usdclp', since: '1990-01-02', kind: 'log', volatility: 0.005, decimals: 2, anchors: [[1990, 300], [1998, 450], [2002, 700], [2007, 520], [2009, 560], [2012, 480], [2016, 670], [2019, 700], [2020, 800], [2022, 860], [2023, 850], [2025, 950], [2026, 930]] },
  { column: 'usdmxn', since: '1993-11-01', kind: 'log', volatility: 0.006, decimals: 4, anchors: [[1993, 3.1], [1995, 7], [1999, 9.5], [2004, 11], [2008, 11], [2009, 13.5], [2012, 13], [2016, 18.5], [2020, 19], [2021, 20], [2023, 17], [2024, 17.5], [2025, 20], [2026, 18]] },
  { column: 'embi_colombia', since: '1998-01-02', kind: 'log', volatility: 0.015, decimals: 2, anchors: [[1998, 350], [1999, 700], [2002, 900], [2004, 450], [2007, 150], [2009, 450], [2011, 150], [2013, 160], [2016, 300], [2018, 180], [2020, 250], [2022, 380], [2023, 300], [2025, 300], [2026, 230]] },
  { column: 'banrep_rate', since: '1999-01-04', kind: 'policy', decimals: 2, floor: 1.75, anchors: [[1999, 12], [2002, 6], [2006, 6], [2008, 10], [2010, 3], [2013, 3.25], [2015, 4.5], [2016, 7.75], [2018, 4.25], [2020, 2], [2021, 1.75], [2022, 5], [2023, 13.25], [2024, 11], [2025, 9.5], [2026, 9.25]] },
  { column: 'col10y', since: '2003-01-02', kind: 'level', volatility: 0.05, decimals: 3, floor: 3, anchors: [[2003, 14], [2005, 10], [2008, 10], [2010, 7.5], [2013, 6], [2015, 8], [2017, 7], [2020, 5.5], [2022, 8], [2023, 13], [2024, 10], [2025, 11], [2026, 12]] },
];

/** Half-life of the pull towards the anchor line: short, so the series follows its history. */
const HALF_LIFE_DAYS = 60;

/** The IBR overnight rate trades a few basis points under the BanRep policy rate; it starts with the IBR in 2008. */
const IBR_SINCE = '2008-01-02';

export function macroTable(seed: number): CopyTable {
  return {
    table: 'macro_indicators_daily',
    columns: ['date', ...INDICATORS.map((i) => i.column), 'ibr_overnight', 'updated_at'],
    rows: () => macroRows(seed),
  };
}

function* macroRows(seed: number): Generator<CopyValue[]> {
  const walks = INDICATORS.map((indicator) => ({ indicator, random: createRandom(seed, `macro:${indicator.column}`), value: NaN }));
  const banrep = walks.find((w) => w.indicator.column === 'banrep_rate')!;
  const ibrRandom = createRandom(seed, 'macro:ibr_overnight');
  let previous = MACRO_FIRST_DAY;

  for (const day of macroDays()) {
    const elapsedDays = Math.max(1, daysBetween(previous, day));
    previous = day;
    const year = yearFraction(day);
    const values: CopyValue[] = [day];
    for (const walk of walks) {
      if (day < walk.indicator.since) {
        values.push(null);
        continue;
      }
      const target = anchorAt(walk.indicator, year);
      walk.value = Number.isNaN(walk.value) ? target : step(walk.indicator, walk.value, target, elapsedDays, walk.random);
      values.push(walk.value.toFixed(walk.indicator.decimals));
    }
    values.push(day < IBR_SINCE ? null : (banrep.value - 0.05 + 0.02 * ibrRandom.normal()).toFixed(3));
    // As if the daily macro job loaded each row the next morning.
    values.push(`${nextDay(day)} 06:00:00+00`);
    yield values;
  }
}

function step(indicator: Indicator, value: number, target: number, days: number, random: Random): number {
  if (indicator.kind === 'policy') {
    // Roughly one decision every 45 days, in 25 bp steps towards the anchor line.
    if (random.next() > 1 - Math.exp(-days / 45)) return value;
    const moves = Math.max(-3, Math.min(3, Math.round((target - value) / 0.5 + 0.5 * random.normal())));
    return Math.max(indicator.floor ?? 0, value + 0.25 * moves);
  }
  const pull = 1 - Math.exp((-Math.LN2 * days) / HALF_LIFE_DAYS);
  const noise = (indicator.volatility ?? 0) * Math.sqrt(days) * random.normal();
  if (indicator.kind === 'log') return Math.exp(Math.log(value) + pull * (Math.log(target) - Math.log(value)) + noise);
  const next = value + pull * (target - value) + noise;
  return indicator.floor !== undefined && next < indicator.floor ? 2 * indicator.floor - next : next;
}

/** The anchor line at a (fractional) year: linear between anchors, flat beyond the ends. */
function anchorAt(indicator: Indicator, year: number): number {
  const anchors = indicator.anchors;
  const after = anchors.findIndex(([y]) => y > year);
  if (after === -1) return anchors[anchors.length - 1]![1];
  if (after === 0) return anchors[0]![1];
  const [y0, v0] = anchors[after - 1]!;
  const [y1, v1] = anchors[after]!;
  return v0 + ((v1 - v0) * (year - y0)) / (y1 - y0);
}

/** Month-ends before MACRO_DAILY_FROM, then weekdays (see MACRO_DAILY_FROM). */
export function* macroDays(): Generator<string> {
  // Date.UTC(y, m + 1, 0) is the last day of month m; months past December roll into later years.
  for (let month = 6; ; month++) {
    const monthEnd = dayOf(Date.UTC(1954, month + 1, 0));
    if (monthEnd >= MACRO_DAILY_FROM) break;
    yield monthEnd;
  }
  for (let t = Date.parse(`${MACRO_DAILY_FROM}T00:00:00Z`); dayOf(t) <= MACRO_LAST_DAY; t += MS_PER_DAY) {
    const day = dayOf(t);
    const weekday = new Date(t).getUTCDay();
    if (weekday === 0 || weekday === 6 || day.endsWith('-01-01') || day.endsWith('-12-25')) continue;
    yield day;
  }
}

const MS_PER_DAY = 86_400_000;

function dayOf(utcMs: number): string {
  return new Date(utcMs).toISOString().slice(0, 10);
}

/** 2000-07-02 -> 2000.5 (roughly; only steers the anchor line). */
function yearFraction(day: string): number {
  return Number(day.slice(0, 4)) + daysBetween(`${day.slice(0, 4)}-01-01`, day) / 366;
}

function nextDay(day: string): string {
  return dayOf(Date.parse(`${day}T00:00:00Z`) + MS_PER_DAY);
}

function daysBetween(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / MS_PER_DAY;
}
