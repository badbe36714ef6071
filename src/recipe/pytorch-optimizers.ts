/**
 * The built-in optimizers, registry entries as a plugin's would be (`registerOptimizer`): PyTorch's
 * Adam (coupled L2), AdamW (decoupled decay) and SGD (momentum, dampening, Nesterov), each its own
 * keys with PyTorch's defaults (but Adam's weight decay: the paper's 1e-4) and the rule that updates
 * the weights (engine/optimizer.ts `PYTORCH_RULES`: ops/adam.ts, adamw.ts, sgd.ts, fused on every
 * backend). The registry adds `lr` and `weight_decay_exclude` to each.
 */
import {Type} from '@sinclair/typebox'
import {PYTORCH_RULES} from '../engine/optimizer.js'
import {registerOptimizer} from '../registry/registry.js'
import {withDefault, type Resolved} from '../schema/typebox.js'

/** Adam's and AdamW's keys: they differ only in how weight decay applies. */
function adamSchema(weightDecay: {default: number; description: string}) {
  return Type.Object(
    {
      weight_decay: withDefault(Type.Number({minimum: 0, maximum: 1e6, description: weightDecay.description}), weightDecay.default),
      betas: withDefault(Type.Unsafe<[number, number]>({type: 'array', items: {type: 'number', minimum: 0, exclusiveMaximum: 1}, minItems: 2, maxItems: 2}), [0.9, 0.999]),
      eps: withDefault(Type.Number({exclusiveMinimum: 0, maximum: 1}), 1e-8),
    },
    {additionalProperties: false},
  )
}

const adamSchemaOf = adamSchema({default: 0.0001, description: 'coupled L2 (PyTorch Adam weight_decay): gradient += weight_decay · weight'})

registerOptimizer<Resolved<typeof adamSchemaOf>>({
  name: 'adam',
  summary: 'Adam with coupled L2 weight decay (torch.optim.Adam); the paper\'s',
  schema: adamSchemaOf,
  ...PYTORCH_RULES.adam,
})

const adamwSchema = adamSchema({default: 0.01, description: 'decoupled decay (PyTorch AdamW): weight ← weight · (1 − lr · weight_decay) before the Adam step'})

registerOptimizer<Resolved<typeof adamwSchema>>({
  name: 'adamw',
  summary: 'Adam with decoupled weight decay (torch.optim.AdamW)',
  schema: adamwSchema,
  ...PYTORCH_RULES.adamw,
})

const sgdSchema = Type.Object(
  {
    weight_decay: withDefault(Type.Number({minimum: 0, maximum: 1e6, description: 'L2 as PyTorch SGD: gradient += weight_decay · weight'}), 0),
    momentum: withDefault(Type.Number({minimum: 0, maximum: 1}), 0),
    dampening: withDefault(Type.Number({minimum: 0, maximum: 1}), 0),
    nesterov: withDefault(Type.Boolean({description: 'Nesterov momentum (needs momentum > 0 and dampening 0)'}), false),
  },
  {additionalProperties: false},
)

registerOptimizer<Resolved<typeof sgdSchema>>({
  name: 'sgd',
  summary: 'SGD with momentum, dampening and Nesterov (torch.optim.SGD)',
  schema: sgdSchema,
  ...PYTORCH_RULES.sgd,
  problems: (p) =>
    p.nesterov && (p.momentum === 0 || p.dampening !== 0)
      ? [{key: 'nesterov', message: `Nesterov momentum needs momentum > 0 and dampening 0 (got momentum ${p.momentum}, dampening ${p.dampening}), as in PyTorch`}]
      : [],
})
