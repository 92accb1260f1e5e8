import { lanes, served, type StrategyFactory } from './strategy.js';

/** Naive: one request per conversation at a time, a failed try retried at once until the budget is spent. */
export const naive: StrategyFactory = (ctx) => ({
  start: async () => {},
  submit: lanes(async (job) => {
    for (let attempt = 0; attempt < ctx.tries && !ctx.stopped; attempt++) {
      if (served(await ctx.send(job))) return;
    }
  }),
  stop: () => {},
});
