/**
 * `<run>/run.log`: what a run says on the console, kept in its folder — the backend line, the
 * dataset and engine notes, warnings, one line per epoch (progress bars are not kept, their
 * per-epoch line is) and the line the run ends with. Lines said before the folder exists (the
 * backend, the data) are held and written when it opens; from then on each line is appended as it
 * is said, so that a crash keeps everything said before it. A resumed run appends after a line
 * naming the resume. A log that cannot be written is said once and given up; the run goes on.
 */
import {appendFileSync} from 'node:fs'
import {join} from 'node:path'

export const RUN_LOG = 'run.log'

export class RunLog {
  private file: string | undefined
  private held: string[] = []
  private failed = false

  /** `say` prints a line on the console (stderr); it is told when the log cannot be written. */
  constructor(private readonly say: (message: string) => void) {}

  /** A line said on the console and kept in the log: what the run's modules get as their `log`. */
  readonly log = (message: string): void => {
    this.say(message)
    this.keep(message)
  }

  /** A line kept in the log only (the console showed it otherwise: a bar's epoch line, the command's own last line). */
  keep(message: string): void {
    if (this.failed) return
    if (this.file === undefined) {
      this.held.push(message)
      return
    }
    try {
      appendFileSync(this.file, `${message}\n`)
    } catch (error) {
      this.failed = true
      this.say(`note: ${this.file} cannot be written (${(error as Error).message}); the run goes on without it`)
    }
  }

  /** Start writing into `runDir`'s run.log (appending to what is there): `heading` first, if any, then the lines held so far. */
  open(runDir: string, heading?: string): void {
    this.file = join(runDir, RUN_LOG)
    const held = this.held
    this.held = []
    for (const line of heading === undefined ? held : [heading, ...held]) this.keep(line)
  }
}

/** The line a resumed run's part of run.log starts with. */
export function resumeHeading(afterEpoch: number, fromBest: boolean, when = new Date()): string {
  return `---- resumed after epoch ${afterEpoch}${fromBest ? ' from best.ckpt (--from-best)' : ''}, ${when.toISOString()} (mixture run --resume) ----`
}
