import { limitPerMinuteAt } from './hidden-bucket.js';
import type { Profile } from './profile.js';
import type { RunResult } from './simulation.js';

const W = 960;
const H = 360;
const PAD = { left: 56, right: 200, top: 34, bottom: 44 };
const COLORS = ['#d62728', '#9467bd', '#ff7f0e', '#1f77b4', '#2ca02c', '#8c564b'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();

/**
 * An SVG line chart (no library) of one profile's first seeded run: the hidden limit's sustained
 * rate against each strategy's sending rate (every request, served or refused, per minute, in bins),
 * with a cross where a strategy got the account flagged (faint and dotted from there on).
 */
export function renderChart(profile: Profile, runs: Record<string, RunResult>): string {
  const horizon = profile.horizonMs;
  const binMs = Math.max(60_000, Math.ceil(horizon / 96 / 60_000) * 60_000);
  const bins = Math.ceil(horizon / binMs);
  const series = Object.entries(runs).map(([name, run]) => {
    const counts = new Array<number>(bins).fill(0);
    for (const r of run.received) {
      const b = Math.min(bins - 1, Math.floor(r.at / binMs));
      counts[b] = (counts[b] as number) + 1;
    }
    return { name, rates: counts.map((c) => (c * 60_000) / binMs), flaggedAt: run.flaggedAt };
  });
  const limitAt = (t: number): number => limitPerMinuteAt(profile.server, t);
  const steps = [0, ...profile.server.quotaChanges.map((c) => c.atMs).filter((t) => t < horizon).sort((a, b) => a - b)];
  const maxLimit = Math.max(...steps.map(limitAt));
  // Four times the highest limit: enough to see who overshoots, without a flagged peer's retry storm flattening the rest.
  const top = Math.max(maxLimit * 4, 2);
  const clipped = series.some((s) => s.rates.some((r) => r > top));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (t: number): number => PAD.left + (t / horizon) * plotW;
  const y = (rate: number): number => PAD.top + plotH - (Math.min(rate, top) / top) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${PAD.left}" y="20" font-size="14" font-weight="bold">${esc(profile.name)}: hidden limit vs sending rate (requests/min, seed 0, ${binMs / 60_000}-min bins${clipped ? ', clipped' : ''})</text>`);
  // Axes and grid.
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    parts.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  const hours = horizon / 3_600_000;
  const tickMs = hours > 12 ? 4 * 3_600_000 : hours > 3 ? 3_600_000 : 15 * 60_000;
  for (let t = 0; t <= horizon; t += tickMs) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${fmt(t / 60_000)}</text>`);
  }
  parts.push(`<text x="${PAD.left + plotW / 2}" y="${H - 8}" text-anchor="middle">minutes</text>`);
  parts.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  // The hidden limit as a step line.
  let d = '';
  steps.forEach((t, i) => {
    const end = steps[i + 1] ?? horizon;
    d += `${i === 0 ? 'M' : 'L'}${x(t)},${y(limitAt(t))} L${x(end)},${y(limitAt(t))} `;
  });
  parts.push(`<path d="${d.trim()}" fill="none" stroke="#000" stroke-width="2.5" stroke-dasharray="6 4"/>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const points = s.rates.map((r, b) => ({ t: (b + 0.5) * binMs, p: `${fmt(x((b + 0.5) * binMs))},${fmt(y(r))}` }));
    // After the flag every answer is 403: that stretch is drawn faint and dotted, so it does not read as pacing.
    const cut = s.flaggedAt === null ? points.length : points.findIndex((q) => q.t >= (s.flaggedAt as number));
    const before = points.slice(0, cut === -1 ? points.length : cut + 1);
    const after = cut === -1 ? [] : points.slice(cut);
    parts.push(`<polyline points="${before.map((q) => q.p).join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    if (after.length > 1) parts.push(`<polyline points="${after.map((q) => q.p).join(' ')}" fill="none" stroke="${color}" stroke-width="1" stroke-dasharray="2 3" opacity="0.5"/>`);
    if (s.flaggedAt !== null) {
      const fx = x(s.flaggedAt);
      const fy = PAD.top + 8 + i * 10;
      parts.push(`<path d="M${fx - 5},${fy - 5} L${fx + 5},${fy + 5} M${fx - 5},${fy + 5} L${fx + 5},${fy - 5}" stroke="${color}" stroke-width="2.5"/>`);
    }
  });
  // Legend.
  const lx = PAD.left + plotW + 14;
  parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${PAD.top + 6}" y2="${PAD.top + 6}" stroke="#000" stroke-width="2.5" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${lx + 30}" y="${PAD.top + 10}">hidden limit</text>`);
  series.forEach((s, i) => {
    const ly = PAD.top + 26 + i * 20;
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${COLORS[i % COLORS.length] as string}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}">${esc(s.name)}${s.flaggedAt === null ? '' : ' ✕ flagged'}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
