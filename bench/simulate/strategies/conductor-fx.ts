// The one adapter between the simulator and the policy engine: update it when the engine's public
// API changes (e.g. a `container` on targets, or a classification that reads the answer's body:
// `answer.body` holds the usage-cap JSON). It is the relay's glue on virtual time:
// beginRequest → the simulated platform's answer → classifyResponse → lease.complete.
import { ConductorError } from '../../../shared/errors.js';
import type { Target } from '../../../shared/platforms.js';
import { classifyResponse } from '../../../extension/src/policy/classify.js';
import { PolicyEngine } from '../../../extension/src/policy/engine.js';
import type { PolicyConfigInput } from '../../../shared/policy-config.js';
import type { PolicyPersistence } from '../../../shared/policy-state.js';
import { served, type StrategyFactory } from './strategy.js';

/** The simulated account's platform; every conversation (client id) of a run belongs to it. */
const PLATFORM = 'claude';

/**
 * What a caller passes as max_wait_ms: the documented default, none (the engine's waiter timeout,
 * 120 s with the defaults, bounds the whole wait).
 */
const MAX_WAIT_MS = null;

/** Storage that keeps nothing: the simulation never restarts the engine. */
const NO_PERSISTENCE: PolicyPersistence = {
  load: async () => ({ targets: [], platforms: [], system: null }),
  save: async () => {},
  admit: () => {},
};

const targetOf = (conversation: number): Target => ({ platform: PLATFORM, clientId: `conversation-${conversation}` });

/**
 * conductor-fx with `config` (the defaults when omitted), used as the README's error table advises
 * a caller that submits each job as it arrives: a refusal or a failed answer is tried again after
 * its retry_after_ms (at once when it gives none), until the job's budget of tries is spent.
 */
export const conductorFxWith = (config?: PolicyConfigInput): StrategyFactory => (ctx) => {
  const clock = ctx.sched.policyClock(ctx.random);
  const engine = new PolicyEngine({ persistence: NO_PERSISTENCE, clock, ...(config === undefined ? {} : { config }) });
  /** Engine refusals by error code, and upstream failures by code: what a caller was told. */
  const told: Record<string, number> = {};
  const count = (code: string): void => {
    told[code] = (told[code] ?? 0) + 1;
  };
  return {
    start: async () => {
      await engine.initialize();
    },
    submit: async (job) => {
      for (let attempt = 0; attempt < ctx.tries && !ctx.stopped; attempt++) {
        let retryAfterMs: number | undefined;
        try {
          const lease = await engine.beginRequest(targetOf(job.target), `job-${job.id}-try-${attempt}`, { maxWaitMs: MAX_WAIT_MS });
          if (ctx.stopped) return;
          const answer = await ctx.send(job, () => lease.touch('chunk'));
          const outcome = classifyResponse(answer.status, answer.headers, clock.now());
          lease.complete(outcome);
          if (served(answer)) return;
          count(outcome.code ?? `http_${answer.status}`);
          retryAfterMs = outcome.retryAfterMs;
        } catch (err) {
          const code = err instanceof ConductorError ? err.code : 'internal_error';
          count(code);
          const hint = err instanceof ConductorError ? err.details?.['retry_after_ms'] : undefined;
          retryAfterMs = typeof hint === 'number' ? hint : undefined;
        }
        if (retryAfterMs !== undefined && retryAfterMs > 0) await ctx.sched.sleep(retryAfterMs);
      }
    },
    stop: () => engine.dispose(),
    stats: () => ({ ...told }),
  };
};

/** The engine with its default config: what the simulator measures. */
export const conductorFx = conductorFxWith();
