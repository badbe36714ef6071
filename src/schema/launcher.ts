/**
 * What a sweep's launcher settings are (the sweep file's `launcher:` block, with `--launcher`,
 * `--slurm` and `--jobs` over it): their JSON Schema and, from the same TypeBox definition, their
 * TypeScript type. config/launcher.ts reads and merges them and checks what one schema cannot say
 * (keys of the other launcher type, sbatch options mixture writes itself).
 */
import {Type, type Static} from '@sinclair/typebox'
import {enumOf} from './typebox.js'

export const LAUNCHERS = ['local', 'slurm'] as const
export type LauncherType = (typeof LAUNCHERS)[number]

/** Slurm's time formats: minutes, minutes:seconds, hours:minutes:seconds, days-hours[:minutes[:seconds]]. */
export const SLURM_TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE|unlimited|infinite)$/

/** What the job that writes a sweep's table asks for unless `table_mem` / `table_time` say otherwise: one CPU, little memory, minutes. */
export const TABLE_JOB = {mem: '1G', time: 30} as const

/** A value passed to sbatch as one word: no spaces, quotes or shell characters. */
function sbatchWord(description: string) {
  return Type.String({minLength: 1, maxLength: 200, pattern: '^[^\\s\'"`$;|&<>\\\\]+$', patternMessage: 'cannot be passed to sbatch as it is (no spaces, quotes, $, ;, |, &, <, > or backslashes)', description})
}

/** A string matching `pattern` or a positive integer (`type: ['string', 'integer']`, as ajv's messages are written for). */
function stringOrInteger(pattern: string, patternMessage: string, description: string) {
  return Type.Unsafe<string | number>({type: ['string', 'integer'], minimum: 1, pattern, patternMessage, description})
}

export const launcherSchema = Type.Object(
  {
    type: enumOf(LAUNCHERS, {description: 'local: this machine; slurm: one job array on a Slurm cluster'}),
    jobs: Type.Optional(Type.Integer({minimum: 1, maximum: 1024, description: 'local: points trained at once (each in its own process)'})),
    partition: Type.Optional(sbatchWord('slurm: partition (sbatch --partition)')),
    gpus_per_task: Type.Optional(Type.Integer({minimum: 0, maximum: 64, description: 'slurm: GPUs per point (sbatch --gpus-per-task)'})),
    cpus_per_task: Type.Optional(Type.Integer({minimum: 1, maximum: 4096, description: 'slurm: CPUs per point; the native and wasm engines use that many threads'})),
    mem: Type.Optional(stringOrInteger('^[1-9]\\d*[KMGTkmgt]?$', 'is not a Slurm memory size: write a number above 0 with K, M, G or T (32G), or megabytes (32000)', 'slurm: memory per point, e.g. 32G (a number: megabytes)')),
    time: Type.Optional(
      stringOrInteger(
        SLURM_TIME.source,
        'is not a Slurm time: write minutes (90), hours:minutes:seconds ("02:00:00") or days-hours:minutes:seconds ("1-12:00:00")',
        'slurm: time limit per point: minutes, hours:minutes:seconds or days-hours:minutes:seconds; near it the point checkpoints and is requeued',
      ),
    ),
    table_mem: Type.Optional(stringOrInteger('^[1-9]\\d*[KMGTkmgt]?$', 'is not a Slurm memory size: write a number above 0 with K, M, G or T (2G), or megabytes (2000)', `slurm: memory of the job that writes the table (default ${TABLE_JOB.mem})`)),
    table_time: Type.Optional(
      stringOrInteger(
        SLURM_TIME.source,
        'is not a Slurm time: write minutes (30), hours:minutes:seconds ("00:30:00") or days-hours:minutes:seconds',
        `slurm: time limit of the job that writes the table (default ${TABLE_JOB.time} minutes)`,
      ),
    ),
    max_parallel: Type.Optional(Type.Integer({minimum: 1, maximum: 100000, description: 'slurm: most points running at once (--array=…%max_parallel)'})),
    account: Type.Optional(sbatchWord('slurm: account to charge')),
    qos: Type.Optional(sbatchWord('slurm: quality of service')),
    constraint: Type.Optional(
      Type.String({minLength: 1, maxLength: 500, pattern: '^[^\'"`$;<>\\\\\\r\\n]+$', patternMessage: 'is not a node feature expression: feature names joined by & | , on one line (no quotes, $ or ;)', description: 'slurm: node features, e.g. a100|h100'}),
    ),
    setup: Type.Optional(Type.Array(Type.String({maxLength: 2000}), {maxItems: 100, description: 'slurm: shell lines run in each job before mixture (modules, containers, a node-local data copy)'})),
    extra: Type.Optional(
      Type.Unsafe<Record<string, string | number | boolean>>({
        type: 'object',
        propertyNames: {pattern: '^[a-z][a-z0-9_-]*$'},
        additionalProperties: {type: ['string', 'number', 'boolean'], pattern: '^[^\'"`$;|&<>\\\\\\n]*$', patternMessage: 'is not a plain sbatch option value (no quotes, $, ;, |, &, <, >, backslashes or line breaks)'},
        description: 'slurm: other sbatch options by long name ({exclusive: true, mail-type: END}); false leaves one out',
      }),
    ),
  },
  {additionalProperties: false},
)

/** Launcher settings after checking. */
export type Launcher = Static<typeof launcherSchema>
