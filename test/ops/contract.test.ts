// Walks every project op (src/ops/index.ts) on every backend present, as the model contract test
// walks every model: where the backend runs an op fused (its kernels registered, or its in-place
// update), the op through those kernels must give the composite's outputs and gradients on that
// backend, on the op's own small inputs. A backend that cannot start here is skipped, saying why
// (webgpu needs a GPU, or lavapipe with MIXTURE_WEBGPU_ALLOW_SOFTWARE=1: bench/gpu/lavapipe.sh).
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {hasKernels} from '../../src/ops/contract.js'
import {OPS, type OpContract} from '../../src/ops/index.js'
import {ALL_BACKENDS, backendSkip} from '../require.js'

/** Largest |a − b| over max(1, |b|); NaN in both places (and ±0) counts as equal. */
function worst(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let most = 0
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]
    const b = expected[i]
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || a === b) continue
    most = Math.max(most, Number.isNaN(a - b) ? Infinity : Math.abs(a - b) / Math.max(1, Math.abs(b)))
  }
  return most
}

function fusedHere(op: OpContract): boolean {
  return op.fusedHere ? op.fusedHere() : hasKernels(...op.kernels)
}

/** The op's outputs, then the gradients of Σ first output · w with respect to the inputs it names (fresh inputs each time). */
function runs(op: OpContract, way: 'fused' | 'composite'): tf.Tensor[] {
  const run = (inputs: tf.Tensor[]) => (way === 'fused' ? op.fused(inputs) : op.composite(inputs))
  const outputs = tf.tidy(() => run(op.example()))
  const wrt = op.gradients ?? []
  if (wrt.length === 0) return outputs
  const grads = tf.tidy(() => {
    const inputs = op.example()
    const w = tf.randomUniform(outputs[0].shape, -1, 1, 'float32', 7)
    const f = (...xs: tf.Tensor[]) => {
      const all = inputs.map((t, i) => (wrt.includes(i) ? xs[wrt.indexOf(i)] : t))
      return tf.sum(tf.mul(run(all)[0], w))
    }
    return tf.grads(f)(wrt.map((i) => inputs[i]))
  })
  return [...outputs, ...grads]
}

async function compare(op: OpContract): Promise<void> {
  const fused = runs(op, 'fused')
  const composite = runs(op, 'composite')
  try {
    assert.equal(fused.length, composite.length, 'as many outputs and gradients')
    for (let k = 0; k < fused.length; k++) {
      const what = k < fused.length - (op.gradients?.length ?? 0) ? `output ${k}` : `gradient ${k - (fused.length - op.gradients!.length)}`
      assert.deepEqual(fused[k].shape, composite[k].shape, `${what}: shape`)
      const diff = worst(await fused[k].data(), await composite[k].data())
      assert.ok(diff <= op.tolerance, `${what}: fused differs from the composite by ${diff} (at most ${op.tolerance})`)
    }
  } finally {
    tf.dispose([...fused, ...composite])
  }
}

for (const backend of ALL_BACKENDS) {
  // A backend CI requires (native, webgpu) fails here when it cannot start; the others skip, saying why.
  const why = await backendSkip(backend)
  if (why) {
    it(`ops on ${backend}`, {skip: why}, () => {})
    continue
  }
  const fused = OPS.filter(fusedHere)
  const composite = OPS.filter((op) => !fusedHere(op)).map((op) => op.name)
  describe(`ops on ${backend}: fused kernels equal the composites (${composite.length > 0 ? `composite only: ${composite.join(', ')}` : 'every op fused'})`, () => {
    for (const op of fused) {
      it(`${op.name}: ${op.summary}`, async () => {
        await tf.setBackend(backend)
        await compare(op)
      })
    }
  })
}

it('every kernel an op file names belongs to a walked contract', async () => {
  const walked = new Set(OPS.flatMap((op) => op.kernels))
  const dir = join(import.meta.dirname, '..', '..', 'src', 'ops')
  const named: string[] = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const module = (await import(join(dir, file))) as Record<string, unknown>
    for (const [name, value] of Object.entries(module)) if (name.endsWith('_KERNEL') && typeof value === 'string') named.push(value)
  }
  assert.ok(named.length >= 15, `kernel names found: ${named.join(', ')}`)
  assert.deepEqual(named.filter((k) => !walked.has(k)), [])
})
