/**
 * The job scripts a Slurm sweep submits, written into its folder so that they can be read and
 * submitted again by hand: `slurm/array.sbatch` (one array task per point: task N trains point N of
 * index.json) and `slurm/table.sbatch` (the table, once the array has ended). docs/slurm.md shows
 * one in full.
 */
import {shellQuote} from '../shell-quote.js'
import {SIGNAL_OPTION, timeSeconds} from '../config/launcher.js'
import {TABLE_JOB, type Launcher} from '../schema/launcher.js'

export interface ScriptInput {
  /** The sweep's name and folder (absolute). */
  name: string
  dir: string
  /** Every point's folder name, by point index (the array's task ids). */
  pointDirs: string[]
  /** The points this submission trains. */
  indices: number[]
  launcher: Launcher
  /** Arguments for `mixture sweep run-point` besides the folder and index (--backend, --data-dir). */
  args: string[]
  /** The Node.js executable and mixture's bin/run.js. */
  node: string
  bin: string
  version: string
}

/** `0-5`, `0,2,7-9`: the indices as Slurm's --array list, ranges joined. */
export function arrayList(indices: number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < sorted.length; ) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]))
    i = j + 1
  }
  return parts.join(',')
}

/**
 * Seconds before the time limit at which Slurm sends USR1: `extra.signal`'s, else a quarter of the
 * time limit, between 10 s and 120 s (Slurm sends it up to a minute early or late; stopping takes
 * one training step, the checkpoint of the last epoch is on disk already).
 */
export function signalSeconds(launcher: Launcher): number {
  const given = SIGNAL_OPTION.exec(String(launcher.extra?.signal ?? ''))
  if (given) return Number(given[2])
  const limit = timeSeconds(launcher.time)
  return limit === undefined ? 120 : Math.min(120, Math.max(10, Math.floor(limit / 4)))
}

/**
 * The sbatch options of the launcher settings, as `--name=value`; `table`: where the job runs and who
 * pays, and the little it needs (one CPU, `table_mem`, `table_time`: schema/launcher.ts `TABLE_JOB`).
 */
export function sbatchOptions(launcher: Launcher, kind: 'array' | 'table'): string[] {
  const out: string[] = []
  const add = (name: string, value: unknown) => {
    if (value !== undefined && value !== null && value !== false) out.push(value === true ? `--${name}` : `--${name}=${value}`)
  }
  add('partition', launcher.partition)
  add('account', launcher.account)
  add('qos', launcher.qos)
  add('constraint', launcher.constraint)
  if (kind === 'table') {
    add('cpus-per-task', 1)
    add('mem', launcher.table_mem ?? TABLE_JOB.mem)
    add('time', launcher.table_time ?? TABLE_JOB.time)
    return out
  }
  add('gpus-per-task', launcher.gpus_per_task)
  add('cpus-per-task', launcher.cpus_per_task)
  add('mem', launcher.mem)
  add('time', launcher.time)
  for (const [key, value] of Object.entries(launcher.extra ?? {})) if (key.replace(/_/g, '-') !== 'signal') add(key.replace(/_/g, '-'), value)
  return out
}

/** `run=(node bin/run.js)`: how mixture starts; a setup line may set it anew (a container: `run=(apptainer exec --nv image.sif node /opt/mixture/bin/run.js)`). */
function runLines(input: ScriptInput): string[] {
  return ['', '# How mixture starts; a setup line may change it, e.g. run=(apptainer exec --nv mixture.sif node /opt/mixture/bin/run.js)', `run=(${shellQuote(input.node)} ${shellQuote(input.bin)})`]
}

function setupLines(launcher: Launcher): string[] {
  const setup = launcher.setup ?? []
  return setup.length > 0 ? ['', '# launcher.setup: run before mixture, in every job', ...setup] : []
}

/** The job array: task N trains point N; a requeued task resumes its point from its checkpoint. */
export function arrayScript(input: ScriptInput): string {
  const {launcher, dir} = input
  const max = launcher.max_parallel ? `%${launcher.max_parallel}` : ''
  const grace = signalSeconds(launcher)
  const args = input.args.map(shellQuote).join(' ')
  return [
    '#!/bin/bash',
    `# Job array of the sweep ${input.name}, written by \`mixture sweep --launcher slurm\` (mixture-models ${input.version}).`,
    '# Array task N trains point N of index.json into its folder (the list below); its output goes to',
    "# the point folder's slurm.log (slurm/logs/N.log links there). Submit it again by hand with, e.g.,",
    `#   sbatch --array=1,4 ${dir}/slurm/array.sbatch`,
    "# (jobs submitted by hand are not in index.json's submissions, so mixture sweep status/cancel",
    '# do not ask Slurm about them; `mixture sweep ... --launcher slurm` submits what is missing and records it).',
    `#SBATCH --job-name=mixture-${input.name}`,
    `#SBATCH --array=${arrayList(input.indices)}${max}`,
    `#SBATCH --output=${dir}/slurm/logs/%a.log`,
    '#SBATCH --open-mode=append',
    '#SBATCH --requeue',
    `#SBATCH --signal=B:USR1@${grace}`,
    ...sbatchOptions(launcher, 'array').map((o) => `#SBATCH ${o}`),
    `sweep=${shellQuote(dir)}`,
    'points=(',
    ...input.pointDirs.map((p) => `  ${shellQuote(p)}`),
    ')',
    'if [ -z "${points[$SLURM_ARRAY_TASK_ID]:-}" ]; then echo "this sweep has no point $SLURM_ARRAY_TASK_ID (0-$((${#points[@]} - 1)))" >&2; exit 2; fi',
    'point=$sweep/${points[$SLURM_ARRAY_TASK_ID]}',
    'node=${SLURMD_NODENAME:-$(hostname)}',
    'echo "== $(date -Is) job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (restart ${SLURM_RESTART_COUNT:-0}) on $node"',
    '',
    "# Slurm's signals reach this shell (mixture runs in the background, so that it takes them at once):",
    `#   USR1, ${grace} s before the time limit: stop mixture (SIGTERM: it finishes its step, keeps the`,
    '#     checkpoint of its last epoch and exits 143), then requeue this task: it resumes the point.',
    '#   TERM (preemption, scontrol requeue, scancel): Slurm sends it to mixture too; wait until it stops.',
    'pid=',
    'requeue=0',
    'stopped=0',
    `trap 'requeue=1; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null' USR1`,
    "trap 'stopped=1' TERM",
    ...runLines(input),
    ...setupLines(launcher),
    '',
    '# Threads of the native and wasm engines for a point that starts anew: the CPUs Slurm gave this',
    '# task, not every core of the node (a resumed point keeps the threads it recorded).',
    'threads=${MIXTURE_THREADS:-${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-1}}}',
    '',
    'code=143',
    'if [ "$requeue" = 0 ] && [ "$stopped" = 0 ]; then',
    `  "\${run[@]}" sweep run-point "$sweep" "$SLURM_ARRAY_TASK_ID" --threads "$threads"${args ? ` ${args}` : ''} &`,
    '  pid=$!',
    '  while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done',
    '  wait "$pid"',
    '  code=$?',
    'fi',
    'requeued=false',
    '[ "$requeue" = 1 ] && [ "$code" = 143 ] && requeued=true',
    '',
    '# How this attempt ended, in the point folder (mixture sweep status reads it; no accounting needed).',
    `printf '{"launcher":"slurm","job":"%s_%s","node":"%s","restart":%s,"ended":"%s","exit_code":%s,"requeued":%s}\\n' \\`,
    '  "$SLURM_ARRAY_JOB_ID" "$SLURM_ARRAY_TASK_ID" "$node" "${SLURM_RESTART_COUNT:-0}" "$(date -Is)" "$code" "$requeued" >>"$point/attempts.jsonl"',
    'if [ "$requeued" = true ]; then',
    '  echo "== $(date -Is) time limit near: the last checkpoint is kept; requeueing"',
    '  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    'fi',
    'exit "$code"',
    '',
  ].join('\n')
}

/** The job that writes the table once the array has ended (submitted with --dependency=afterany:<array>). */
export function tableScript(input: ScriptInput): string {
  return [
    '#!/bin/bash',
    `# The table of the sweep ${input.name}, written by \`mixture sweep --launcher slurm\` (mixture-models ${input.version}).`,
    '# Submitted with --dependency=afterany:<array job id>: it runs when every array task has ended,',
    "# records each point's outcome in index.json and writes table.md, table.csv and the curves.",
    `#SBATCH --job-name=mixture-${input.name}-table`,
    `#SBATCH --output=${input.dir}/slurm/table.log`,
    '#SBATCH --open-mode=append',
    ...sbatchOptions(input.launcher, 'table').map((o) => `#SBATCH ${o}`),
    'echo "== $(date -Is) job $SLURM_JOB_ID on ${SLURMD_NODENAME:-$(hostname)}"',
    ...runLines(input),
    ...setupLines(input.launcher),
    `exec "\${run[@]}" sweep finish ${shellQuote(input.dir)}`,
    '',
  ].join('\n')
}
