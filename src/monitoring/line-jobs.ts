import { isPlainValidLabeled, isPlainValidPrediction } from '../schemas/fast-check';
import { parseLine } from '../schemas/parse-line';
import { LabeledRowSchema, PredictionRowSchema } from '../schemas/records';
import { accumulate, createAccumulator, mergeAccumulators } from './histogram';
import type { DriftAccumulator } from './histogram';
import { parsePredictionLineForDrift } from './log-line';
import { ProfileCollector } from './profile';
import type { ProfileCollectorState, ReferenceProfile } from './profile';

/**
 * What the drift command and the drift/reference activities do with the lines of NDJSON logs, as jobs
 * that run the same on the calling thread or on any number of parse threads: each job gets batches of
 * whole lines (in file order per file, batches of one file possibly on different threads), keeps only
 * counts or number columns (never the rows), and hands back a partial result that merges exactly with
 * the others'. So the outcome does not depend on how many threads (partitions) read the lines.
 */

/** A batch of whole lines of one file: UTF-8 text without the final newline, and its first line's number. */
export interface LineBatch {
  key: string;
  /** 1-based number of the first line in `text`. */
  firstLineNo: number;
  text: string;
}

/** Calls `fn` for every non-blank line of `batch` (a trailing '\r' removed), with its line number. */
function eachLine(batch: LineBatch, fn: (line: string, lineNo: number) => void): void {
  const { text } = batch;
  let from = 0;
  let lineNo = batch.firstLineNo;
  while (from <= text.length) {
    let to = text.indexOf('\n', from);
    if (to < 0) to = text.length;
    let end = to;
    if (end > from && text.charCodeAt(end - 1) === 13) end -= 1;
    // Blank (or whitespace-only) lines are skipped, as readLineBatches does.
    if (end > from) {
      const line = text.slice(from, end);
      if (line.trim() !== '') fn(line, lineNo);
    }
    lineNo += 1;
    from = to + 1;
  }
}

/** The window's drift counts of one partition (a thread's share of the lines). */
export interface WindowPart {
  acc: DriftAccumulator;
  /** Lines left out as invalid (NaN/±Infinity features alone do not make a line invalid). */
  badRows: number;
}

/** Window job: accumulates served (not shadow) prediction lines against the profile. */
export class WindowJob {
  private readonly part: WindowPart;

  constructor(profile: ReferenceProfile) {
    this.part = { acc: createAccumulator(profile), badRows: 0 };
  }

  add(batch: LineBatch): void {
    const acc = this.part.acc;
    eachLine(batch, (line) => {
      const parsed = parsePredictionLineForDrift(line);
      if (!parsed.ok) this.part.badRows += 1;
      else if (parsed.row.role !== 'shadow') accumulate(acc, parsed.row.features, parsed.row.scores);
    });
  }

  /** A damaged file (truncated gzip) counts as one bad row; its lines read before the damage count. */
  damaged(): void {
    this.part.badRows += 1;
  }

  result(): WindowPart {
    return this.part;
  }
}

/** Merges partitions' window counts in the order given (the order does not change the counts). */
export function mergeWindowParts(profile: ReferenceProfile, parts: readonly WindowPart[]): WindowPart {
  let acc = createAccumulator(profile);
  let badRows = 0;
  for (const p of parts) {
    acc = mergeAccumulators(acc, p.acc);
    badRows += p.badRows;
  }
  return { acc, badRows };
}

/**
 * Reference job over labelled rows (a bootstrap history, datasets loopkeeper wrote): collects their
 * features. A line that is not a valid labelled row fails the job naming file and line, since these
 * files are loopkeeper's own and a bad line means a hand edit or an older writer.
 */
export class LabeledReferenceJob {
  private readonly collector = new ProfileCollector(64 * 1024);

  add(batch: LineBatch): void {
    eachLine(batch, (line, lineNo) => {
      const parsed = parseLine(line, LabeledRowSchema, isPlainValidLabeled);
      if (!parsed.ok) throw new Error(`${batch.key}:${lineNo}: ${parsed.reason}`);
      this.collector.add(parsed.row.features);
    });
  }

  result(): ProfileCollectorState {
    return this.collector.state();
  }
}

/**
 * Reference job over a pinned window of prediction logs: features and scores of served rows; invalid
 * lines and shadow rows are left out, as the window's own drift run would.
 */
export class PredictionReferenceJob {
  private readonly collector = new ProfileCollector(64 * 1024);

  add(batch: LineBatch): void {
    eachLine(batch, (line) => {
      const parsed = parseLine(line, PredictionRowSchema, isPlainValidPrediction);
      if (!parsed.ok || parsed.row.role === 'shadow') return;
      this.collector.add(parsed.row.features);
      this.collector.addScores(parsed.row.scores);
    });
  }

  result(): ProfileCollectorState {
    return this.collector.state();
  }
}
