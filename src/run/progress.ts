/**
 * Progress on stderr: an epoch bar and a batch bar (loss, accuracy, images/s, ETA) through
 * cli-progress when stderr is a terminal; otherwise (or with --no-progress / --json) one plain
 * line per epoch. The bars are not kept in run.log; the lines printed above them are (`keep`).
 */
import cliProgress from 'cli-progress'
import type {EpochMetrics} from './metrics-file.js'

/** One epoch's line: the run's metrics.csv row and the number of epochs. */
export interface EpochLine extends EpochMetrics {
  epochs: number
}

export interface Progress {
  startEpoch(epoch: number, epochs: number, batches: number): void
  batch(done: number, metrics?: {loss: number; accuracy: number; imagesPerSecond: number}): void
  endEpoch(line: EpochLine): void
  /** A message that must not be garbled by the bars. */
  log(message: string): void
  stop(): void
}

const fmt = (n: number, d = 4) => (Number.isFinite(n) ? n.toFixed(d) : String(n))

export function epochText(l: EpochLine): string {
  const val = Number.isNaN(l.val_loss) ? '' : `  val loss ${fmt(l.val_loss)} acc ${fmt(l.val_accuracy)}`
  // train.ema: the splits are the average's; the trained weights' test score follows.
  const raw = Number.isNaN(l.raw_test_loss) ? '' : ` (trained weights: loss ${fmt(l.raw_test_loss)} acc ${fmt(l.raw_test_accuracy)})`
  return `epoch ${l.epoch}/${l.epochs}  train loss ${fmt(l.train_loss)} acc ${fmt(l.train_accuracy)}${val}  test loss ${fmt(l.test_loss)} acc ${fmt(l.test_accuracy)}${raw}  ${l.train_seconds.toFixed(1)} s train (data ${l.data_seconds.toFixed(1)} s) + ${l.eval_seconds.toFixed(1)} s eval  ${Math.round(l.images_per_second)} img/s  lr ${Number(l.lr.toPrecision(4))}`
}

class PlainProgress implements Progress {
  constructor(private readonly write: (s: string) => void) {}
  startEpoch(): void {}
  batch(): void {}
  endEpoch(line: EpochLine): void {
    this.write(epochText(line))
  }
  log(message: string): void {
    this.write(message)
  }
  stop(): void {}
}

class BarProgress implements Progress {
  private readonly multibar = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      clearOnComplete: false,
      hideCursor: true,
      format: '{label} |{bar}| {value}/{total} {info}',
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  private epochBar?: cliProgress.SingleBar
  private batchBar?: cliProgress.SingleBar
  private started = 0

  /** `keep`: the lines printed above the bars, for run.log. */
  constructor(private readonly keep: (line: string) => void) {}

  startEpoch(epoch: number, epochs: number, batches: number): void {
    if (!this.epochBar) this.epochBar = this.multibar.create(epochs, epoch - 1, {label: 'epochs ', info: ''})
    this.batchBar?.stop()
    if (this.batchBar) this.multibar.remove(this.batchBar)
    this.batchBar = this.multibar.create(batches, 0, {label: `epoch ${String(epoch).padStart(String(epochs).length)}`, info: ''})
    this.started = Date.now()
  }

  batch(done: number, m?: {loss: number; accuracy: number; imagesPerSecond: number}): void {
    const elapsed = (Date.now() - this.started) / 1000
    const total = this.batchBar?.getTotal() ?? 0
    const eta = done > 0 ? (elapsed / done) * (total - done) : 0
    const info = m ? `loss ${fmt(m.loss)} acc ${fmt(m.accuracy)} ${Math.round(m.imagesPerSecond)} img/s ETA ${eta.toFixed(0)}s` : `ETA ${eta.toFixed(0)}s`
    this.batchBar?.update(done, {info})
  }

  endEpoch(line: EpochLine): void {
    this.epochBar?.update(line.epoch, {info: `${Number.isNaN(line.val_accuracy) ? '' : `val acc ${fmt(line.val_accuracy)} `}test acc ${fmt(line.test_accuracy)}`})
    this.multibar.log(`${epochText(line)}\n`)
    this.keep(epochText(line))
  }

  log(message: string): void {
    this.multibar.log(`${message}\n`)
    this.keep(message)
  }

  stop(): void {
    this.multibar.stop()
  }
}

/** Bars, or plain lines through `write`; `keep` gets the lines printed above the bars (for run.log; `write` keeps its own). */
export function createProgress(opts: {bars: boolean; write: (s: string) => void; keep?: (s: string) => void}): Progress {
  return opts.bars ? new BarProgress(opts.keep ?? (() => undefined)) : new PlainProgress(opts.write)
}
