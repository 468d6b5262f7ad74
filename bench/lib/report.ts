/**
 * Output helpers shared by the benchmarks (BENCH.md): a table for people on stdout, progress on stderr,
 * and the last stdout line `bench <name>: key=value ...` for machines.
 */

export type Cell = string | number | null | undefined;

/** Fixed decimals; a missing figure prints as "-" (never as 0). */
export function fmt(value: number | null | undefined, decimals = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(decimals);
}

/** A Markdown table with columns padded to their widest cell; numbers right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) =>
    headers.map((_, i) => (r[i] === null || r[i] === undefined ? '-' : String(r[i]))),
  );
  const numeric = headers.map((_, i) =>
    rows.every((r) => typeof r[i] !== 'string' || /^-?[\d.]+x?$|^-$/.test(r[i])),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...text.map(line)].join('\n');
}

/**
 * `bench <name>: k=v ...` with plain numbers. Keys whose figure is missing or not finite are left out,
 * as BENCH.md requires (the table says why).
 */
export function summaryLine(
  name: string,
  figures: Readonly<Record<string, number | null | undefined>>,
): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(figures)) {
    if (value === null || value === undefined || !Number.isFinite(value)) continue;
    parts.push(`${key}=${plainNumber(value)}`);
  }
  return `bench ${name}: ${parts.join(' ')}`;
}

/** Up to 6 significant decimals, no exponent, no trailing zeros. */
export function plainNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const digits = Math.max(0, Math.min(12, 6 - Math.floor(Math.log10(Math.abs(value))) - 1));
  return value.toFixed(digits).replace(/\.?0+$/, '');
}

/** Progress for people, on stderr so stdout stays table + summary. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Peak resident set of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Where the stages' time went: the runtime's `stage_ms{stage,phase}` counters, per stage and phase. */
export function phaseRows(counters: Record<string, number>): (string | number)[][] {
  const phases = new Map<string, Map<string, number>>();
  for (const [key, ms] of Object.entries(counters)) {
    const m =
      /^stage_ms\{stage=([^,]+),phase=([^}]+)\}$/.exec(key) ??
      /^stage_sink_ms\{stage=([^,]+),sink=([^}]+)\}$/
        .exec(key)
        ?.map((x, i) => (i === 2 ? `(of which ${x})` : x));
    if (!m) continue;
    const stage = phases.get(m[1]!) ?? new Map<string, number>();
    phases.set(m[1]!, stage);
    stage.set(m[2]!, (stage.get(m[2]!) ?? 0) + ms);
  }
  const rows: (string | number)[][] = [];
  for (const [stage, byPhase] of phases) {
    const total = [...byPhase].filter(([p]) => !p.startsWith('(')).reduce((a, [, b]) => a + b, 0);
    for (const [phase, ms] of byPhase) {
      rows.push([stage, phase, fmt(ms / 1000, 2), `${fmt((100 * ms) / total, 0)}%`]);
    }
  }
  return rows;
}
