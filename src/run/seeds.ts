/**
 * `mixture run <spec> --seeds 0,1,2`: the spec run once per seed, one after another, each into its
 * own run folder named with its seed (`results/<name>/<stamp>-<hash>-seed2/`), every seed's spec,
 * the model and the data's place checked before the first trains. A seed that fails is recorded
 * and the next goes on; an interruption stops there, saying which seeds are done and how to
 * continue. The command then prints the table of the runs with the seeds aggregated (report/
 * `tabulate`), as `mixture table` does.
 */
import {resolveSpec, type Resolved} from '../config/resolve.js'
import {checkModel} from './fine-tune.js'
import {locateData} from '../data/load.js'
import {InterruptedError, UsageError} from '../errors.js'
import {shellQuote} from '../shell-quote.js'
import {runExperiment, type RunOptions, type RunSummary} from './experiment.js'

export interface SeedRun {
  seed: number
  status: 'completed' | 'failed' | 'not run'
  /** The run folder (null for a seed that failed before it had one, or did not run). */
  run_dir: string | null
  summary?: RunSummary
  error?: string
}

export interface SeedsResult {
  seeds: SeedRun[]
  completed: number
  failed: number
}

export interface SeedsOptions extends Omit<RunOptions, 'seed' | 'resume' | 'resolved' | 'runDir' | 'folderSuffix' | 'dryRun' | 'fromBest' | 'force'> {
  seeds: number[]
  /** One run (runExperiment; a test can put a wrapper here). */
  runOne?: typeof runExperiment
}

const MAX_SEED = 4294967295

/** `0,1,2` as seeds: whole numbers from 0 to 2^32 − 1, each once; a UsageError (exit 2) saying what is wrong otherwise. */
export function parseSeeds(text: string): number[] {
  const items = text.split(',').map((s) => s.trim())
  const seeds = items.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN))
  const bad = items.filter((s, i) => !(seeds[i] <= MAX_SEED))
  if (bad.length > 0) throw new UsageError(`--seeds takes whole numbers from 0 to ${MAX_SEED} separated by commas, e.g. --seeds 0,1,2; ${bad.map((b) => JSON.stringify(b)).join(', ')} is not one`)
  const twice = seeds.filter((s, i) => seeds.indexOf(s) !== i)
  if (twice.length > 0) throw new UsageError(`--seeds names seed ${twice[0]} twice; the same seed gives the same numbers, so give each seed once`)
  return seeds
}

/** The command that runs `seeds` as this one would have: the spec, its --set overrides (--name among them), and the flags that decide where and how. */
function seedsCommand(opts: SeedsOptions, seeds: number[]): string {
  const flags = [...(opts.overrides ?? []).flatMap((set) => ['--set', set]), ...(opts.backend ? ['--backend', opts.backend] : []), ...(opts.dataDir ? ['--data-dir', opts.dataDir] : []), ...(opts.outDir ? ['--out', opts.outDir] : [])]
  return ['mixture', 'run', opts.spec!, '--seeds', seeds.join(','), ...flags].map(shellQuote).join(' ')
}

export async function runSeeds(opts: SeedsOptions): Promise<SeedsResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const {seeds, runOne = runExperiment, ...runOpts} = opts
  if (!opts.spec) throw new UsageError('--seeds runs a spec once per seed: give a spec file')
  if (seeds.length === 0) throw new UsageError('--seeds needs at least one seed, e.g. --seeds 0,1,2')
  // Every seed's spec is checked before the first trains, and so are the model and where the data
  // are, and the checkpoint train.init_from names (the same for every seed): bad input is said once, as exit 2, not once per seed.
  const resolved: Resolved[] = []
  for (const seed of seeds) resolved.push(await resolveSpec(opts.spec, [...(opts.overrides ?? []), `seed=${seed}`]))
  checkModel(resolved[0])
  locateData(resolved[0].spec.data, opts.dataDir)
  const runs: SeedRun[] = seeds.map((seed) => ({seed, status: 'not run', run_dir: null}))
  for (const [i, run] of runs.entries()) {
    log(`[${i + 1}/${runs.length}] seed ${run.seed}`)
    let runDir: string | null = null
    const seen = (m: string) => {
      if (m.startsWith('run folder: ')) runDir ??= m.slice('run folder: '.length)
      log(m)
    }
    try {
      run.summary = (await runOne({...runOpts, resolved: resolved[i], folderSuffix: `seed${run.seed}`, log: seen})) as RunSummary
      run.status = 'completed'
      run.run_dir = run.summary.run_dir
    } catch (error) {
      run.run_dir = runDir
      if (error instanceof InterruptedError) {
        const done = runs.filter((r) => r.status === 'completed').map((r) => r.seed)
        const rest = seeds.slice(i + 1)
        throw new InterruptedError(
          `${error.message}${done.length > 0 ? `. Seeds done: ${done.join(', ')}` : ''}${rest.length > 0 ? `; the seeds not run yet: ${seedsCommand(opts, rest)}` : ''}`,
          error.signal,
        )
      }
      run.status = 'failed'
      run.error = (error as Error).message
      log(`seed ${run.seed} failed: ${run.error}`)
    }
  }
  return {seeds: runs, completed: runs.filter((r) => r.status === 'completed').length, failed: runs.filter((r) => r.status === 'failed').length}
}
