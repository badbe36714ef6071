/**
 * Optimizer update benchmark: milliseconds per update of every trainable weight of a paper model
 * (ResNet-18 by default: 62 tensors, 11.7 M scalars) with Adam, AdamW and SGD (Nesterov momentum),
 * through each backend's fused kernels (what training runs: ops/weight-update.ts `updateStep`) and
 * through the tfjs composite the kernels replace, weights with and without decay in two groups as
 * `weight_decay_exclude: [bias, norm]` makes them. Median of --repeat after one warm-up update.
 * Prints measured numbers; asserts nothing.
 *
 *   node dist/bench/optimizers.js [--backend native,wasm,cpu] [--row cifar10/resnet18] [--repeat 5]
 */
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {tf} from '../src/engine/tf.js'
import {selectBackend, type BackendName} from '../src/engine/backend.js'
import {Optimizer, weightRoles, type OptimizerSpec} from '../src/engine/optimizer.js'
import {loadSpec} from '../src/config/load.js'
import {validateSpec} from '../src/config/validate.js'
import {buildModel} from '../src/model/build.js'
import {chooseOptimizer} from '../src/recipe/optimizer.js'
import '../src/builtins.js'

const {values: args} = parseArgs({options: {backend: {type: 'string', default: 'native,wasm,cpu'}, row: {type: 'string', default: 'cifar10/resnet18'}, repeat: {type: 'string', default: '5'}}})
const repeat = Math.max(1, Number(args.repeat))

const OPTIMIZERS: OptimizerSpec[] = [
  {type: 'adam', lr: 1e-3, weight_decay: 1e-4, weight_decay_exclude: ['bias', 'norm'], betas: [0.9, 0.999], eps: 1e-8},
  {type: 'adamw', lr: 1e-3, weight_decay: 0.05, weight_decay_exclude: ['bias', 'norm'], betas: [0.9, 0.999], eps: 1e-8},
  {type: 'sgd', lr: 0.1, weight_decay: 5e-4, weight_decay_exclude: ['bias', 'norm'], momentum: 0.9, dampening: 0, nesterov: true},
]

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Milliseconds of each of `repeat` calls of `update` after one warm-up, each ended by reading one value back (the work is done). */
async function time(update: () => void, probe: tf.Tensor): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i <= repeat; i++) {
    const t0 = performance.now()
    update()
    await probe.data()
    if (i > 0) samples.push(performance.now() - t0)
  }
  return samples
}

for (const backend of args.backend!.split(',') as BackendName[]) {
  try {
    await selectBackend(backend)
  } catch (error) {
    console.log(`${backend}: not available here (${(error as Error).message.split('\n')[0]})`)
    continue
  }
  const built = buildModel(validateSpec(loadSpec(join(import.meta.dirname, '..', '..', 'configs', 'paper', `${args.row}.yaml`))))
  const weights = built.model.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)
  const roles = weightRoles(built.model)
  const scalars = weights.reduce((s, w) => s + w.size, 0)
  const grads = weights.map((w, i) => tf.randomUniform(w.shape, -1e-3, 1e-3, 'float32', i))
  console.log(`${backend}: ${args.row}, ${weights.length} weight tensors, ${(scalars / 1e6).toFixed(2)} M scalars; median of ${repeat} updates`)
  for (const spec of OPTIMIZERS) {
    const optimizer = new Optimizer(chooseOptimizer(spec), weights, roles)
    let step = 0
    const fused = await time(() => optimizer.apply(weights, grads, optimizer.update(spec.lr, ++step)), weights[0])
    // The composite the kernels replace, per weight, with the same groups.
    const {op} = optimizer.rule
    const composite = await time(() => {
      const update = optimizer.update(spec.lr, ++step)
      for (const {indices, weightDecay} of optimizer.groups) {
        for (const i of indices) {
          tf.tidy(() => {
            const [p, ...s] = op.composite(weights[i], grads[i], optimizer.state[i], {...update.attrs, weightDecay} as never)
            weights[i].assign(p)
            optimizer.state[i].forEach((t, k) => t.assign(s[k]))
          })
        }
      }
    }, weights[0])
    console.log(`  ${spec.type.padEnd(5)}  fused ${median(fused).toFixed(1).padStart(7)} ms   composite ${median(composite).toFixed(1).padStart(7)} ms   (${(median(composite) / median(fused)).toFixed(1)}×)`)
    optimizer.dispose()
  }
  tf.dispose(grads)
  built.model.dispose()
}
