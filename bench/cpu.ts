/**
 * CPU benchmark: our training step on one or more tfjs backends against PyTorch on the identical
 * architectures (bench/torch/models.py, Debian's python3-torch), same machine, same thread count,
 * one run. Prints one table with the ratio ours/PyTorch per row and writes it (with the machine,
 * versions and the command) to docs/benchmarks/cpu.md. A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench -- --backend native [--threads 2] [--rows cifar10/resnet18,...] [--repeat 3]
 *                    [--batch N] [--no-torch] [--out docs/benchmarks/cpu.md]
 *
 * Each row runs in its own child process (bench/gpu/bench.js run, the shared harness that times
 * the project's own Trainer.trainStep) so that the peak RSS is per row.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir, totalmem} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {ROWS, type RowResult, type TorchRow} from './gpu/bench.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

const {values: opts} = parseArgs({
  options: {
    backend: {type: 'string', default: 'native'},
    threads: {type: 'string', default: String(cpus().length)},
    rows: {type: 'string'},
    repeat: {type: 'string', default: '3'},
    batch: {type: 'string'},
    'no-torch': {type: 'boolean', default: false},
    out: {type: 'string'},
    python: {type: 'string', default: '/usr/bin/python3'},
  },
})

/** Our row result (as bench/gpu/bench.ts writes it) and the child process's peak memory. */
interface Ours extends RowResult {
  peak_rss_mb?: number
}
interface Torch extends TorchRow {
  peak_rss_mb?: number | null
}

const rows = opts.rows ? opts.rows.split(',') : ROWS.map((r) => r[0])
const threads = Number(opts.threads)
const env = {...process.env, MIXTURE_THREADS: String(threads), OMP_NUM_THREADS: String(threads)}
const work = mkdtempSync(join(tmpdir(), 'mixture-bench-'))
const log = (s: string) => process.stderr.write(`${s}\n`)

const backends = opts.backend!.split(',')
const ours = new Map<string, Ours[]>()
let detail = ''
for (const backend of backends) {
  const results: Ours[] = []
  for (const row of rows) {
    const out = join(work, `${backend}-${row.replace('/', '_')}.json`)
    log(`[${backend}] ${row}`)
    const args = [join(ROOT, 'dist/bench/gpu/bench.js'), 'run', '--backend', backend, '--rows', row, '--repeat', opts.repeat!, '--warmup', '1', '--budget', '100000', '--no-count', '--out', out]
    if (opts.batch) args.push('--batch', opts.batch)
    const r = spawnSync(process.execPath, args, {env, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe']})
    const rss = /peak_rss_mb=(\d+)/.exec(r.stderr ?? '')
    process.stderr.write(r.stderr ?? '')
    try {
      const doc = JSON.parse(readFileSync(out, 'utf8')) as {detail: string; rows: Ours[]}
      detail = `${backend}: ${doc.detail}`
      results.push({...doc.rows[0], peak_rss_mb: rss ? Number(rss[1]) : undefined})
    } catch {
      results.push({row, torch_row: ROWS.find((x) => x[0] === row)?.[1] ?? row, error: `no result (exit ${r.status})`})
    }
  }
  ours.set(backend, results)
}

let torch: {rows: Torch[]; torch?: string; threads?: number; blas?: unknown} = {rows: []}
if (!opts['no-torch']) {
  const torchRows = [...new Set([...ours.values()][0].map((r) => r.torch_row))].join(',')
  log(`PyTorch (${threads} threads): ${torchRows}`)
  const args = [join(ROOT, 'bench/torch/bench.py'), '--threads', String(threads), '--rows', torchRows, '--repeat', opts.repeat!, '--warmup', '1', '--json']
  if (opts.batch) args.push('--batch', opts.batch)
  const r = spawnSync(opts.python!, args, {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20})
  try {
    torch = JSON.parse(r.stdout)
  } catch {
    log(`PyTorch benchmark gave no JSON (exit ${r.status}); is python3-torch installed? (apt-get install python3-torch python3-torchvision)`)
  }
}

/** One line: which BLAS PyTorch loaded and whether its convolutions use oneDNN. */
function blasSummary(blas: unknown): string {
  const b = (blas ?? {}) as {openblas?: {config?: string}; mkldnn_available?: boolean}
  return `BLAS ${b.openblas?.config ?? 'unknown'}${b.mkldnn_available ? '; convolutions on oneDNN (mkldnn)' : ''}`
}

const fmt = (v?: number | null) => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1))
const ratio = (a?: number | null, b?: number | null) => (a != null && b != null && b > 0 ? `${(a / b).toFixed(1)}×` : '-')
const lines: string[] = []
const header = ['row', 'batch']
for (const b of backends) header.push(`${b} fwd ms`, `${b} step ms`, `${b} img/s`, `${b} peak MB`)
header.push('torch fwd ms', 'torch step ms', 'torch peak MB', ...backends.map((b) => `${b}/torch step`))
lines.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`)
for (const [i, row] of rows.entries()) {
  const per = backends.map((b) => ours.get(b)![i])
  const t = torch.rows.find((x) => x.row === per[0].torch_row)
  const cells = [row + (per.some((p) => p.error) ? ` (${per.find((p) => p.error)!.error})` : ''), String(per[0].batch ?? '-')]
  for (const p of per) cells.push(fmt(p.forward_ms), fmt(p.step_ms), p.step_ms && p.batch ? String(Math.round((p.batch * 1000) / p.step_ms)) : '-', p.peak_rss_mb ? String(p.peak_rss_mb) : '-')
  cells.push(fmt(t?.forward_ms), fmt(t?.step_ms), t?.peak_rss_mb ? String(Math.round(t.peak_rss_mb)) : '-', ...per.map((p) => ratio(p.step_ms, t?.step_ms)))
  lines.push(`| ${cells.join(' | ')} |`)
}
const table = lines.join('\n')
process.stdout.write(`${table}\n`)
const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim()
if (opts.out) {
  const doc = `# CPU benchmark: training step, ours vs PyTorch

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), ${threads} thread(s) for both.
Ours: ${detail}. Node ${process.version}, TensorFlow.js 4.22.
PyTorch: ${torch.torch ?? '-'} (CPU), ${blasSummary(torch.blas)}.

Each row: the paper configuration at its paper batch size (or --batch), random inputs; forward =
inference-mode forward; step = one full training step (forward in training mode, cross-entropy,
backward, Adam with coupled L2 — ours: the project's Trainer.trainStep; PyTorch: the same
architecture from bench/torch/models.py with torch.optim.Adam). Median of ${opts.repeat} after warm-up.
Peak MB = the process's peak resident memory for that row.

Command: \`${command}\`

${table}
`
  writeFileSync(opts.out, doc)
  log(`written ${opts.out}`)
}
