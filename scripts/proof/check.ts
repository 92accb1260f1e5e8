/** What a proof check is given: the short (CI) or full run, and where it may write scratch files. */
export interface ProofContext {
  /** True for the full run (`npm run proof`); false for CI's short run (`npm run proof -- --short`). */
  full: boolean;
  /** A fresh temporary directory for this check; removed afterwards. */
  scratch: string;
  /** Progress lines for a human (stderr). */
  log(line: string): void;
}

/** The result of one check: its one summary line, its figures, and whether it held. */
export interface ProofResult {
  ok: boolean;
  /** One line, e.g. "crash soak: 200 kills, 0 corrupt, 0 lost admissions, 0 double runs". */
  line: string;
  figures: Record<string, number | string | boolean>;
  /** Why it did not run here (e.g. no root for a loop mount); a skipped check is not ok. */
  skipped?: string;
}

/** One check of `npm run proof`. */
export interface ProofCheck {
  name: string;
  run(ctx: ProofContext): Promise<ProofResult>;
}
