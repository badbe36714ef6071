/**
 * The public plugin API. Built-in plugins (plugins/*.ts) use exactly this, and so can a third-party
 * plugin file listed in a spec (`plugins: [./my-plugin.js]`): either `import {registerComponent}
 * from 'mixture-models'` where the package is installed, or export a default function that receives
 * this module (`export default function (mm) { mm.registerComponent({...}) }`), which works for a
 * file anywhere on disk and guarantees the same TensorFlow.js instance.
 */
export {tf, tfl} from './engine/tf.js'
export type {SymbolicTensor, Tensor, LayersModel} from './engine/tf.js'
export {
  registerComponent,
  registerAdapter,
  registerNorm,
  registerHead,
  registerBlock,
  registerModel,
  registerDataset,
  registerTransform,
  registerOptimizer,
  registerSchedule,
  registerLoss,
  lookup,
  names,
  type ComponentDef,
  type AdapterDef,
  type NormDef,
  type HeadDef,
  type BlockDef,
  type BlockParts,
  type ModelDef,
  type DatasetDef,
  type DatasetContext,
  type DatasetSplit,
  type LabelArray,
  type DataOptions,
  type LoadedData,
  type TransformDef,
  type ImageTransform,
  type RandomSource,
  type OptimizerDef,
  type ScheduleDef,
  type ScheduleRun,
  type StepRates,
  type LossDef,
  type LossFunction,
  type LossRun,
  type RecipeProblem,
  type JsonSchema,
  type Flow,
} from './registry/registry.js'
export {BuildContext} from './registry/context.js'
export type {ConvInit, InitScheme} from './registry/context.js'
// Parameter schemas and their types from one definition (TypeBox), as the built-in plugins write them.
export {Type} from '@sinclair/typebox'
export {withDefault, enumOf, nullableInteger, oneOf, openObject, type Resolved} from './schema/typebox.js'
export {AttentionCore} from './layers/attention.js'
export {attend} from './ops/attention.js'
export {ClsPosEmbedding, LatentArray, ClsPool} from './layers/embeddings.js'
export {FourierFeatures, Geglu, fourierTable} from './layers/perceiver.js'
export {Gelu, gelu} from './layers/gelu.js'
export {Dropout} from './layers/dropout.js'
export {BatchNorm, LayerNorm} from './layers/norm.js'
export {DataError} from './data/errors.js'
export {ScheduleError} from './recipe/schedule.js'
export type {OptimizerRule, OptimizerStep} from './engine/optimizer.js'
export type {UpdateOp} from './ops/weight-update.js'
export {readImage, decodeImage, type DecodedImage} from './data/images.js'
