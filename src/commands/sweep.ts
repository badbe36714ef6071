import {Args, Flags} from '@oclif/core'
import {BaseCommand, withInterrupt} from '../base-command.js'
import {LAUNCHERS} from '../schema/launcher.js'
import {backendFlag, pathFlag} from '../flags.js'
import {runSweep, type SweepResult} from '../sweep/run.js'

export default class Sweep extends BaseCommand<typeof Sweep> {
  static summary = 'Run a grid of experiments: comma lists in --set, or a sweep file (one spec per paper row).'
  static description = `Points are expanded and validated up front; each trains into its own run folder under <out>/<sweep name>/, listed in index.json. A failed point is recorded and the sweep goes on (exit code 1 at the end). Rerunning the same sweep skips completed points and resumes interrupted (or crashed) ones. The paper-shaped table (table.md, table.csv, curves) is written into the sweep folder at the end.

Where the points train (--launcher, or launcher: in the sweep file): local, one after another in this process, or --jobs N at once (each in its own process, the CPU threads split between them; --devices gives each job slot a WebGPU adapter); slurm, one job array on a Slurm cluster (--slurm key=value: partition, gpus_per_task, cpus_per_task, mem, time, max_parallel, account, qos, constraint, setup, extra.<sbatch option>). A Slurm sweep writes its job script to slurm/array.sbatch, submits it with a job that writes the table when the array has ended, and returns; a point near its time limit, or preempted, checkpoints and is requeued, and resumes. Follow it with mixture sweep status, stop it with mixture sweep cancel (docs/slurm.md).

Who may run a sweep folder: a local sweep holds its lock (index.lock: pid, host, start time) while it runs: a second one is refused; a lock left by a process that is gone from this host is taken over, one from another host needs --force. A submission, sweep cancel, sweep finish and the table job hold it for a moment only, and a sweep that meets such a lock waits up to 30 s for it (Ctrl-C stops the wait). A submitted Slurm sweep holds no lock between those moments: while a job that index.json records is queued or running (Slurm is asked), any sweep on the folder is refused unless --force.`
  static examples = [
    '<%= config.bin %> sweep configs/paper/cifar10/table.yaml --data-dir ~/datasets',
    '<%= config.bin %> sweep configs/quickstart.yaml --set train.optimizer.lr=1e-3,3e-4 --set seed=1,2',
    '<%= config.bin %> sweep configs/quickstart.yaml --set seed=0,1,2,3 --jobs 2',
    '<%= config.bin %> sweep configs/paper/cifar10/table.yaml --launcher slurm --data-dir /shared/datasets --slurm partition=gpu --slurm gpus_per_task=1 --slurm time=02:00:00 --slurm max_parallel=6',
    '<%= config.bin %> sweep configs/paper/stl10-perceiver/table.yaml --set train.epochs=5 --dry-run',
  ]
  static args = {spec: Args.string({required: true, description: 'a spec (with --set comma lists) or a sweep file (top-level sweep: key)'})}
  static flags = {
    set: Flags.string({char: 's', summary: 'Override for every point; key=a,b,c makes a sweep axis (repeatable).', multiple: true, multipleNonGreedy: true, default: [], defaultHelp: async () => undefined}),
    name: Flags.string({summary: 'Sweep folder name (default: the sweep file\'s name, or <spec>-sweep); letters, digits, ".", "_", "-".'}),
    launcher: Flags.string({summary: 'Where the points train: local (this machine) or slurm (one job array; returns once submitted). Default: the sweep file\'s launcher:, else local.', options: [...LAUNCHERS]}),
    slurm: Flags.string({summary: 'A Slurm setting, key=value (repeatable; over the sweep file\'s launcher:), e.g. --slurm partition=gpu --slurm time=02:00:00 --slurm extra.exclusive=true.', multiple: true, multipleNonGreedy: true, default: [], defaultHelp: async () => undefined}),
    jobs: Flags.integer({char: 'j', summary: 'Local: points trained at once, each in its own process (the CPU threads are split between them).', min: 1}),
    devices: Flags.string({summary: 'Local jobs: the WebGPU adapter of each job slot in turn (adapter indices or PCI bus ids), comma-separated, e.g. 0,1.'}),
    force: Flags.boolean({summary: 'Take over the sweep folder\'s lock although another host holds it, or go ahead although the sweep\'s Slurm jobs are queued (make sure nothing else runs these points).'}),
    backend: backendFlag,
    'data-dir': pathFlag('Folder holding the dataset files; when given, the only place searched (not MIXTURE_DATA, the user cache or system folders).'),
    out: pathFlag('Root folder (default: the spec\'s output.dir, "results").'),
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
        launcher: {type: flags.launcher, slurm: flags.slurm, jobs: flags.jobs},
        devices: flags.devices?.split(',').map((d) => d.trim()).filter(Boolean),
        backend: flags.backend,
        dataDir: flags['data-dir'],
        outDir: flags.out,
        dryRun: flags['dry-run'],
        bars: !this.jsonEnabled() && (flags.progress ?? (process.stderr.isTTY && !process.env.CI)),
        stop,
        log: (m) => this.note(m),
      })
      if (!this.jsonEnabled()) {
        for (const p of result.points) {
          const outcome = p.would ? `${p.would}${p.best_test_accuracy === undefined || p.best_test_accuracy === null ? '' : ` (${p.best_test_accuracy.toFixed(4)})`}` : `${p.status.padEnd(10)} ${p.best_test_accuracy?.toFixed(4) ?? p.job ?? ''}`
          this.log(`${p.run_dir.padEnd(40)} ${outcome}${p.overrides.length ? `  ${p.overrides.join(' ')}` : ''}`)
        }
        if (result.table) this.log(`\n${result.table}`)
        if (result.submitted) this.log(`submitted: job array ${result.submitted.array_job} (${result.submitted.points.length} point(s)), table job ${result.submitted.table_job}; job script ${result.submitted.script_path}`)
        this.log(flags['dry-run'] ? `sweep folder: ${result.dir} (a dry run: nothing was written)` : `sweep folder: ${result.dir}`)
      }
      if (result.failed > 0) process.exitCode = 1
      return result
    })
  }
}
