import {Args, Flags} from '@oclif/core'
import {nameProblem} from '../schema/spec.js'
import {BaseCommand, withInterrupt} from '../base-command.js'
import {backendFlag, setFlag, pathFlag} from '../flags.js'
import {paramTable} from '../model/param-table.js'
import {runExperiment, type DryRunResult, type RunSummary} from '../run/experiment.js'
import {finalLine} from '../run/summary.js'
import {parseSeeds, runSeeds, type SeedsOptions, type SeedsResult} from '../run/seeds.js'
import {tabulate, type TableRow} from '../report/index.js'
import {stringify as yamlStringify} from 'yaml'

export default class Run extends BaseCommand<typeof Run> {
  static summary = 'Train and evaluate one experiment spec; write a run folder.'
  static description = `Trains with the spec's recipe, evaluates on the test split after every epoch, and writes results/<name>/<stamp>-<hash>/ with config.yaml, overrides.yaml, env.json, metrics.csv, summary.json and checkpoints. The first stderr line names the backend.

With data.val_split, e.g. --set data.val_split=0.1, a seeded, stratified part of the training images is held out and evaluated every epoch too; the best epoch (best.ckpt, the table's accuracy) is then chosen on it, and the test accuracy is reported at that epoch. Without it the best epoch is the one of the highest test accuracy, the paper's rule.

--seeds 0,1,2 runs the spec once per seed, one after another, into its own run folder each (<stamp>-<hash>-seed0, ...); a seed that fails does not stop the others (the exit code is then 1), and the table of the runs follows, one row with mean ± sample standard deviation over the seeds, as mixture table prints it.

Every run keeps what it says here in <run>/run.log (appended on --resume).

Ctrl-C (SIGINT), SIGTERM or SIGHUP stops after the current step: the last checkpoint is kept and the command exits 130 (143 for SIGTERM, 129 for SIGHUP); continue with --resume, which uses the backend, threads and engine switches the run recorded (numerics.json). A damaged checkpoint is refused (exit 2) before anything is written; when last.ckpt is damaged and best.ckpt is sound, --from-best restarts from best.ckpt. Exit codes: 0 done, 1 runtime failure (e.g. the loss became NaN), 2 invalid spec/flags/data or a damaged run folder, 130/143/129 interrupted.`
  static examples = [
    '<%= config.bin %> run configs/quickstart.yaml',
    '<%= config.bin %> run configs/quickstart.yaml --seeds 0,1,2',
    '<%= config.bin %> run configs/quickstart.yaml --set data.val_split=0.1',
    '<%= config.bin %> run configs/paper/cifar10/alternating-1block.yaml --set train.epochs=5 --data-dir ~/datasets',
    '<%= config.bin %> run configs/paper/cifar10/vit.yaml --dry-run',
    '<%= config.bin %> run results/quickstart/20261126-101500-1a2b3c4d/config.yaml',
    '<%= config.bin %> run --resume results/quickstart/20261126-101500-1a2b3c4d',
    '<%= config.bin %> run --resume results/quickstart/20261126-101500-1a2b3c4d --from-best',
    '<%= config.bin %> run --resume results/quickstart/20261126-101500-1a2b3c4d --epochs 20',
  ]
  static args = {spec: Args.string({required: false, description: 'YAML experiment spec (or a run folder\'s config.yaml to reproduce it)'})}
  static flags = {
    set: setFlag,
    name: Flags.string({summary: 'Run name, over the spec\'s name: key: the runs go to <out>/<name>/.'}),
    seed: Flags.integer({summary: 'Random seed (same seed + same backend = same numbers).', min: 0}),
    seeds: Flags.string({summary: 'Run the spec once per seed, e.g. 0,1,2: one run folder each (named with its seed), then the table with the seeds aggregated (mean ± std, n).'}),
    backend: backendFlag,
    'data-dir': pathFlag('Folder holding the dataset files; when given, the only place searched (not MIXTURE_DATA, the user cache or system folders).'),
    out: pathFlag('Root folder for run folders (default: the spec\'s output.dir, "results").'),
    resume: Flags.directory({summary: 'Continue this run folder from its last checkpoint (weights and optimizer state), with the numerics it recorded.', exists: true}),
    'from-best': Flags.boolean({summary: 'With --resume: restart from best.ckpt (weights only: the optimizer starts afresh); rows after its epoch and last.ckpt are set aside.', dependsOn: ['resume']}),
    epochs: Flags.integer({summary: 'With --resume: train on to this many epochs in all (more than the run has done; config.yaml is updated). Schedules that span train.epochs (cosine, onecycle) refuse it.', dependsOn: ['resume'], min: 1}),
    force: Flags.boolean({summary: 'With --resume: continue with another backend, thread count or engine switch than recorded (the change is recorded), or take over a lock held on another host.', dependsOn: ['resume']}),
    'dry-run': Flags.boolean({char: 'n', summary: 'Resolve, build and count parameters; train nothing and write nothing.'}),
    progress: Flags.boolean({summary: 'Progress bars on stderr (default: on when stderr is a terminal).', allowNo: true}),
  }

  async run(): Promise<RunSummary | DryRunResult | SeedsRunResult> {
    const {args, flags} = await this.parse(Run)
    if (!args.spec && !flags.resume) this.error('give a spec file to run, or --resume <run folder>; see mixture run --help', {exit: 2})
    if (args.spec && flags.resume) this.error('give either a spec or --resume <run folder>, not both', {exit: 2})
    if (flags.name !== undefined && flags.resume) this.error('--name names a new run; a resumed run keeps its folder and name', {exit: 2})
    const badName = flags.name === undefined ? undefined : nameProblem(flags.name)
    if (badName) this.error(`--name ${flags.name}: ${badName}`, {exit: 2})
    // --name is an override like any other (validated as the spec's name:), after the --set ones.
    const overrides = flags.name === undefined ? flags.set : [...flags.set, `name=${JSON.stringify(flags.name)}`]
    const bars = !this.jsonEnabled() && (flags.progress ?? (process.stderr.isTTY && !process.env.CI))
    if (flags.seeds !== undefined) {
      if (flags.resume) this.error('--seeds starts new runs of a spec; --resume continues one run folder: give one of them (resume each seed\'s folder on its own)', {exit: 2})
      if (flags.seed !== undefined) this.error('give either --seed N (one run) or --seeds A,B,C (one run per seed), not both', {exit: 2})
      if (flags['dry-run']) this.error('--dry-run resolves one spec; the seeds\' specs differ only in seed: drop --seeds, or give --seed N', {exit: 2})
      const seeds = parseSeeds(flags.seeds)
      return withInterrupt('finishing the current step and keeping the last checkpoint', (stop) =>
        this.runSeeds({spec: args.spec, seeds, overrides, backend: flags.backend, dataDir: flags['data-dir'], outDir: flags.out, bars, stop, log: (m) => this.note(m)}),
      )
    }
    return withInterrupt('finishing the current step and keeping the last checkpoint', async (stop) => {
      const result = await runExperiment({
        spec: args.spec,
        resume: flags.resume,
        fromBest: flags['from-best'],
        epochs: flags.epochs,
        force: flags.force,
        overrides,
        seed: flags.seed,
        backend: flags.backend,
        dataDir: flags['data-dir'],
        outDir: flags.out,
        dryRun: flags['dry-run'],
        bars,
        stop,
        log: (m) => this.note(m),
      })
      if (!this.jsonEnabled()) {
        if ('dry_run' in result) {
          this.log(yamlStringify(result.config).trimEnd())
          this.log('')
          this.log(paramTable(result.components, result.params))
        } else {
          this.log(finalLine(result))
          this.log(`run folder: ${result.run_dir}`)
        }
      }
      return result
    })
  }

  /** --seeds: the runs, then the table of those that have a folder (printed like mixture table's); exit 1 if a seed failed. */
  private async runSeeds(opts: SeedsOptions): Promise<SeedsRunResult> {
    const result = await runSeeds(opts)
    const folders = result.seeds.flatMap((r) => (r.run_dir ? [r.run_dir] : []))
    const table = folders.length > 0 ? tabulate({paths: folders}, (m) => this.note(`Warning: ${m}`)) : undefined
    if (!this.jsonEnabled()) {
      for (const r of result.seeds) this.log(`seed ${r.seed}: ${r.summary ? finalLine(r.summary) : `${r.status}${r.error ? `: ${r.error}` : ''}`}${r.run_dir ? `\n  run folder: ${r.run_dir}` : ''}`)
      if (table) this.log(`\n${table.markdown.trimEnd()}`)
    }
    if (result.failed > 0) process.exitCode = 1
    return {...result, ...(table ? {table: {rows: table.rows, markdown: table.markdown, caption: table.caption}} : {})}
  }
}

/** What `run --seeds` returns (--json): every seed's run, and the table over them. */
export interface SeedsRunResult extends SeedsResult {
  table?: {rows: TableRow[]; markdown: string; caption: string}
}
