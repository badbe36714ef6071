import {Args, Flags} from '@oclif/core'
import {BaseCommand, withInterrupt} from '../../base-command.js'
import {backendFlag, pathFlag} from '../../flags.js'
import type {RunSummary} from '../../run/experiment.js'
import {runSweepPoint} from '../../sweep/point.js'

export default class SweepRunPoint extends BaseCommand<typeof SweepRunPoint> {
  static hidden = true
  static summary = 'Train one point of a sweep folder (what a Slurm array task and a local job run).'
  static description = `Trains point <index> of the sweep's index.json into its folder: nothing when it is completed, resumed from its checkpoint when it has one (a requeued task), else started there. SIGTERM stops it at a step boundary with its last checkpoint kept (exit 143). Launchers run it; docs/slurm.md shows the job script.`
  static examples = ['<%= config.bin %> sweep run-point results/cifar10-table 3']
  static args = {
    dir: Args.directory({required: true, description: 'the sweep folder'}),
    index: Args.integer({required: true, min: 0, description: 'the point (its array task id)'}),
  }
  static flags = {
    backend: backendFlag,
    'data-dir': pathFlag('Folder holding the dataset files.'),
    device: Flags.string({summary: 'The WebGPU adapter (index or PCI bus id), over the spec\'s engine.device.'}),
    threads: Flags.string({summary: 'CPU threads (native, wasm) when the point starts anew; a resumed point keeps those it recorded, and MIXTURE_THREADS wins.'}),
    progress: Flags.boolean({summary: 'Progress bars on stderr (default: on when stderr is a terminal).', allowNo: true}),
  }

  async run(): Promise<RunSummary> {
    const {args, flags} = await this.parse(SweepRunPoint)
    return withInterrupt('finishing the current step and keeping the last checkpoint', (stop) =>
      runSweepPoint({
        dir: args.dir,
        index: args.index,
        backend: flags.backend,
        dataDir: flags['data-dir'],
        device: flags.device,
        threads: flags.threads,
        bars: !this.jsonEnabled() && (flags.progress ?? (process.stderr.isTTY && !process.env.CI)),
        stop,
        log: (m) => this.note(m),
      }),
    )
  }
}
