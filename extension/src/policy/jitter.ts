import type { PolicyConfig } from '../../../shared/policy-config.js';

export type JitterConfig = PolicyConfig['jitter'];

/**
 * Draws an admission delay from a log-normal distribution whose mean is `muMs` and standard
 * deviation `sigmaMs` (both in ms, not log-space), clamped to [minMs, maxMs]. Log-normal because
 * human pauses are skewed: mostly short, now and then long, never negative.
 */
export function drawJitterMs(cfg: JitterConfig, random: () => number): number {
  if (cfg.maxMs === 0) return 0;
  let ms = cfg.muMs;
  if (cfg.muMs > 0 && cfg.sigmaMs > 0) {
    // Moment matching: the log-space parameters that give this mean and deviation.
    const s2 = Math.log(1 + (cfg.sigmaMs * cfg.sigmaMs) / (cfg.muMs * cfg.muMs));
    const mu = Math.log(cfg.muMs) - s2 / 2;
    // Box-Muller; 1 - random() is in (0, 1], so the log is finite.
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    ms = Math.exp(mu + Math.sqrt(s2) * z);
  }
  return Math.round(Math.min(cfg.maxMs, Math.max(cfg.minMs, ms)));
}

/** How far above an honest hint a spread one may land: a tenth, at most a minute. */
const HINT_SPREAD = 0.1;
const HINT_SPREAD_MAX_MS = 60_000;

/**
 * A retry hint de-synchronised: `ms` plus up to a tenth more (at most a minute), drawn uniformly,
 * so callers refused at the same instant do not all come back at the same instant. Never earlier
 * than `ms`: coming back early would only be refused again.
 */
export function spreadHintMs(ms: number, random: () => number): number {
  const base = Math.max(0, Math.round(ms));
  return base + Math.floor(random() * Math.min(HINT_SPREAD_MAX_MS, Math.max(1_000, base * HINT_SPREAD)));
}
