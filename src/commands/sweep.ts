import {Args, Flags} from '@oclif/core'
import {BaseCommand, withInterrupt} from '../base-command.js'
import {backendFlag} from '../flags.js'
import {runSweep, type SweepResult} from '../run/sweep.js'

export default class Sweep extends BaseCommand<typeof Sweep> {
  static summary = 'Run a grid of experiments: comma lists in --set, or a sweep file (one spec per paper row).'
  static description = `Points are expanded and validated up front; each trains into its own run folder under <out>/<sweep name>/, listed in index.json. A failed point is recorded and the sweep goes on (exit code 1 at the end). Rerunning the same sweep skips completed points and resumes interrupted (or crashed) ones. While a sweep runs, its folder is locked (index.lock: pid, host, start time): a second sweep on the same folder is refused; a lock left by a process that is gone from this host is taken over, one from another host needs --force. The paper-shaped table (table.md, table.csv, curves) is written into the sweep folder at the end.`
  static examples = [
    '<%= config.bin %> sweep configs/paper/cifar10/table.yaml --data-dir ~/datasets',
    '<%= config.bin %> sweep configs/quickstart.yaml --set train.optimizer.lr=1e-3,3e-4 --set seed=1,2',
    '<%= config.bin %> sweep configs/paper/stl10-perceiver/table.yaml --set train.epochs=5 --dry-run',
  ]
  static args = {spec: Args.string({required: true, description: 'a spec (with --set comma lists) or a sweep file (top-level sweep: key)'})}
  static flags = {
    set: Flags.string({char: 's', summary: 'Override for every point; key=a,b,c makes a sweep axis (repeatable).', multiple: true, default: [], defaultHelp: async () => undefined}),
    name: Flags.string({summary: 'Sweep folder name (default: the sweep file\'s name, or <spec>-sweep); letters, digits, ".", "_", "-".'}),
    force: Flags.boolean({summary: 'Take over the sweep folder\'s lock although another host holds it (make sure no sweep runs there).'}),
    backend: backendFlag,
    'data-dir': Flags.directory({summary: 'Folder holding the dataset files; when given, the only place searched (not MIXTURE_DATA, the user cache or system folders).'}),
    out: Flags.string({summary: 'Root folder (default: the spec\'s output.dir, "results").'}),
    'dry-run': Flags.boolean({char: 'n', summary: 'Expand and validate the points; train nothing.'}),
    progress: Flags.boolean({summary: 'Progress bars on stderr (default: on when stderr is a terminal).', allowNo: true}),
  }

  async run(): Promise<SweepResult> {
    const {args, flags} = await this.parse(Sweep)
    return withInterrupt('finishing the current step; rerun the sweep to continue', async (stop) => {
      const result = await runSweep({
        file: args.spec,
        sets: flags.set,
        name: flags.name,
        force: flags.force,
        backend: flags.backend,
        dataDir: flags['data-dir'],
        outDir: flags.out,
        dryRun: flags['dry-run'],
        bars: !this.jsonEnabled() && (flags.progress ?? (process.stderr.isTTY && !process.env.CI)),
        stop,
        log: (m) => this.note(m),
      })
      if (!this.jsonEnabled()) {
        for (const p of result.points) this.log(`${p.run_dir.padEnd(40)} ${p.status.padEnd(10)} ${p.best_test_accuracy?.toFixed(4) ?? ''}${p.overrides.length ? `  ${p.overrides.join(' ')}` : ''}`)
        if (result.table) this.log(`\n${result.table}`)
        this.log(`sweep folder: ${result.dir}`)
      }
      if (result.failed > 0) process.exitCode = 1
      return result
    })
  }
}
