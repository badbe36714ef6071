/**
 * What an experiment spec is: its JSON Schema (stage 1 of validation) and, from the same TypeBox
 * definition, its TypeScript types — `ResolvedSpec` (after validation filled the defaults) and
 * `DataOptions` (the `data:` keys every dataset shares). Model and component parameters are checked
 * in stage 2 against each plugin's own schema (config/validate.ts), because ajv's `useDefaults` does
 * not reach inside `oneOf`; so are each optimizer's and schedule's own keys (recipe.ts,
 * config/recipe.ts). config/editor-schema.ts stitches them into one document for editors.
 */
import {Type, type Static} from '@sinclair/typebox'
import {BACKENDS} from '../engine/backend.js'
import {PRECISIONS} from '../engine/precision.js'
import {engineSwitchSchema} from '../backends/webgpu/switches.js'
import {constant, enumOf, filledObject, nullableInteger, oneOf, openObject, withDefault, type Resolved} from './typebox.js'
import {EARLY_STOPPING_METRICS, type EarlyStoppingSpec, type LossSpec, type OptimizerSpec, type ScheduleSpec} from './recipe.js'

/** The most epochs a spec may train (train.epochs; `run --resume --epochs` is held to it too). */
export const MAX_EPOCHS = 100_000

/** `engine.device` given as a PCI bus id: `[domain:]bus:device.function` in hex (backends/webgpu/devices.ts reads the same forms). */
export const PCI_BUS_PATTERN = '^([0-9a-fA-F]{1,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]$'

/** Run and sweep names: they become folder names, so no separators, no leading dot. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$'

/** Why `name` cannot name a run or sweep folder, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (new RegExp(NAME_PATTERN).test(name) && name.length <= 200) return undefined
  return `${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)} cannot name a folder: use letters, digits, ".", "_" and "-", starting with a letter or digit (no "/" or ".."), at most 200 characters`
}

/** One item of a `data.augment` list as a resolved spec holds it: the transform's name and its parameters. */
export type TransformSpec = {type: string} & Record<string, unknown>

const paperAugment = Type.Object(
  {
    hflip: withDefault(Type.Boolean({description: 'random horizontal flip, p = 0.5'}), true),
    brightness: withDefault(Type.Number({minimum: 0, maximum: 1, description: 'brightness factor drawn from [1-b, 1+b]'}), 0.5),
    hue: withDefault(Type.Number({minimum: 0, maximum: 0.5, description: 'hue shift drawn from [-h, h]'}), 0.25),
  },
  {additionalProperties: false},
)

const transformItem = oneOf([Type.String(), Type.Unsafe<TransformSpec>(Type.Object({type: Type.String()}))])

// The dataset's own keys (data.synthetic, data.root, ...) are checked in stage 2 against its registry schema.
const dataSchema = openObject({
  dataset: Type.String({description: "a registered dataset: cifar10, cifar100, stl10, fashion_mnist, mnist, synthetic, image_folder, or a plugin's (mixture list dataset)"}),
  image_size: withDefault(Type.Integer({minimum: 2, maximum: 1024, description: 'square side the images are resized or padded to (image_folder without it: the side its images share)'}), 32),
  data_dir: Type.Optional(Type.String({description: 'folder holding the dataset files, relative to the spec that names it (~/: the home folder; else --data-dir, MIXTURE_DATA, the user cache); for image_folder, it replaces data.root'})),
  label_mode: withDefault(enumOf(['fine', 'coarse'], {description: 'CIFAR-100 labels'}), 'fine'),
  resize: Type.Optional(
    enumOf(['pil_bilinear', 'bilinear', 'pad'], {
      description:
        "how images of another size reach image_size: pil_bilinear = Pillow's Image.resize(BILINEAR), antialiased when downscaling (torchvision's Resize on PIL images); bilinear = 4-tap, no antialiasing; pad = centred zeros (default: pad for (Fashion-)MNIST up to a larger size, pil_bilinear otherwise)",
    }),
  ),
  train_limit: Type.Optional(Type.Integer({minimum: 1, maximum: 100_000_000, description: 'use only the first N training images'})),
  test_limit: Type.Optional(Type.Integer({minimum: 1, maximum: 100_000_000, description: 'use only the first N test images (and of image_folder val/ beside test/)'})),
  val_split: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 0.5,
      description:
        'hold out this fraction of every class of the training images (seeded by seed, stratified) as a validation split, evaluated every epoch; the best epoch (best.ckpt, the table) is then chosen on it. 0 or absent: none, the best epoch is chosen on the test split (the paper’s rule)',
    }),
  ),
  augment: Type.Optional(
    oneOf([constant(false), paperAugment, Type.Array(transformItem)], {
      description: "training augmentation: false, the paper's {hflip, brightness, hue}, or a list of transforms ([hflip, {type: random_crop, padding: 4}, ...]; mixture list transform)",
    }),
  ),
})

/** The keys of `data:` that every dataset shares; the others belong to the dataset's registry schema. */
export const DATA_KEYS: readonly string[] = Object.keys(dataSchema.properties)

/**
 * The `data:` keys every dataset shares, as a dataset's `load` (and `loadDataset`) gets them:
 * `image_size` settled (validation fills it, from the images where the dataset can tell), the other
 * defaults possibly left to the reader; plus the dataset's own keys.
 */
export type DataOptions = Static<typeof dataSchema> & {image_size: number} & Record<string, unknown>

// Stage 1 checks the optimizer's type only; its other keys belong to its registry entry's schema,
// checked and filled in stage 2, which is why the resolved value is typed as OptimizerSpec.
const optimizerSchema = Type.Unsafe<OptimizerSpec>(
  openObject({type: withDefault(Type.String({description: "a registered optimizer: adam (PyTorch Adam, coupled L2), adamw (decoupled decay), sgd (momentum, dampening, nesterov), or a plugin's (mixture list optimizer shows each one's keys)"}), 'adam')}),
)

const scheduleSchema = Type.Unsafe<ScheduleSpec>({
  type: ['string', 'object'],
  description: "learning rate over training: a registered schedule (constant, step, multistep, cosine, onecycle, or a plugin's), as a name or {type, ...}; every one but onecycle takes warmup_epochs and warmup_start_factor (mixture list schedule shows each one's keys)",
})

const earlyStoppingSchema = Type.Unsafe<EarlyStoppingSpec>(
  Type.Object(
    {
      metric: Type.Optional(enumOf(EARLY_STOPPING_METRICS, {description: 'the metrics.csv column watched; default: val_accuracy with a validation split (data.val_split, or image_folder with val/ beside test/), else test_accuracy'})),
      mode: Type.Optional(enumOf(['max', 'min'], {description: 'max: higher is better; default: max for accuracies, min for losses'})),
      patience: withDefault(Type.Integer({minimum: 1, maximum: 100_000, description: 'epochs without improvement before training stops'}), 10),
      min_delta: withDefault(Type.Number({minimum: 0, maximum: 1e6, description: 'an improvement must exceed this'}), 0),
    },
    {
      additionalProperties: false,
      description:
        "stop training once a metrics.csv column has not improved for `patience` epochs, as Lightning's EarlyStopping: the run ends completed, summary.json says why (stopped_early), best.ckpt stays the epoch of best validation accuracy (test accuracy without a validation split) whatever the watched column; a resumed run decides from its rows as an uninterrupted one",
    },
  ),
)

/** `train.init_from` as a resolved spec holds it (validate.ts turns the shorthand, a path alone, into this). */
export interface InitFromSpec {
  /** A checkpoint file, or a run folder (its best.ckpt); absolute once resolved. */
  path: string
  /** Layers (or single weights, `layer/name`; `*` matches any characters) that keep their initialisation. */
  skip: string[]
  /** Every other weight of the model must be in the checkpoint with its shape, and every weight of the checkpoint in the model. */
  strict: boolean
  /** Of a run with train.ema: its weights' moving average (absent: what the run evaluated) or the weights its optimizer trained. */
  weights?: 'average' | 'trained'
}

// No default: a spec without it resolves (and hashes) as before.
const initFromSchema = Type.Unsafe<InitFromSpec>({
  description:
    "start from another run's weights (fine-tuning): a checkpoint file or a run folder (its best.ckpt), relative to the spec (~/: the home folder), or {path, skip, strict}; the weights are matched by name and shape, BatchNorm statistics included, and the optimizer starts afresh",
  anyOf: [
    {type: 'string', minLength: 1},
    {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      properties: {
        path: {type: 'string', minLength: 1, description: 'a checkpoint file (best.ckpt or last.ckpt of a run), or a run folder: its best.ckpt'},
        skip: {
          type: 'array',
          items: {type: 'string', minLength: 1},
          default: [],
          description: "layers that keep their initialisation, by name (head_fc), weight (head_fc/bias) or pattern with * (block2_*): a new head for another number of classes; mixture params --weights lists the names",
        },
        strict: {type: 'boolean', default: true, description: 'true: every weight not skipped is in the checkpoint with its shape, and the checkpoint has no other; false: load what matches by name and shape, keep the rest at initialisation, and say which'},
        weights: {
          enum: ['average', 'trained'],
          description: "of a run with train.ema: average (what it evaluated and best.ckpt holds; the default) or trained, the weights its optimizer trained, which only last.ckpt keeps (a run folder: its last.ckpt), as timm's --initial-checkpoint loads state_dict rather than state_dict_ema",
        },
      },
    },
  ],
})

// No default: a spec without it resolves (and hashes) as before.
const mixupSchema = Type.Object(
  {
    mixup_alpha: withDefault(Type.Number({minimum: 0, maximum: 1000, description: "mixup's λ ~ Beta(α, α): images λ·a + (1 − λ)·b (timm --mixup; DeiT uses 0.8); 0: no mixup (with cutmix_alpha 0 too, the run trains on plain labels, as timm)"}), 0),
    cutmix_alpha: withDefault(Type.Number({minimum: 0, maximum: 1000, description: "cutmix's λ ~ Beta(α, α): a box of about (1 − λ) of the image pasted from b (timm --cutmix; DeiT uses 1.0); 0: no cutmix"}), 0),
    cutmix_minmax: Type.Optional(
      Type.Array(Type.Number({exclusiveMinimum: 0, maximum: 1}), {
        minItems: 2,
        maxItems: 2,
        description: "[min, max]: cutmix's box sides drawn uniformly between these fractions of the image instead of from λ (timm --cutmix-minmax); turns cutmix on",
      }),
    ),
    prob: withDefault(Type.Number({minimum: 0, maximum: 1, description: 'the probability that a batch (mode batch), a pair or an example is mixed at all (timm --mixup-prob)'}), 1),
    switch_prob: withDefault(Type.Number({minimum: 0, maximum: 1, description: 'with both mixup and cutmix on, the probability of cutmix (timm --mixup-switch-prob)'}), 0.5),
    mode: withDefault(
      enumOf(['batch', 'pair', 'elem'], {description: 'batch: one draw for the batch; pair: one per pair of examples; elem: one per example (timm --mixup-mode); example i mixes with example B − 1 − i of the batch'}),
      'batch',
    ),
    correct_lam: withDefault(Type.Boolean({description: "cutmix's λ from the area of the box as clipped at the image's edge (timm's correct_lam)"}), true),
    off_epoch: Type.Optional(Type.Integer({minimum: 0, maximum: 100_000, description: 'the epochs after this one train unmixed (timm --mixup-off-epoch); 0, as timm\'s default: mixing never stops'})),
  },
  {
    additionalProperties: false,
    description:
      "mixup and cutmix of the training batches, as timm's Mixup: images mixed with the batch reversed, the targets mixed in the same shares (label smoothing in them) and trained with soft-target cross-entropy; the train accuracy counts the top-1 against each example's larger share; evaluation is unmixed",
  },
)

const trainSchema = Type.Object(
  {
    epochs: withDefault(Type.Integer({minimum: 1, maximum: MAX_EPOCHS}), 50),
    batch_size: withDefault(Type.Integer({minimum: 1, maximum: 65536}), 64),
    eval_batch_size: Type.Optional(Type.Integer({minimum: 1, maximum: 65536, description: 'defaults to batch_size'})),
    steps_per_epoch: Type.Optional(Type.Integer({minimum: 1, maximum: 100_000_000, description: 'cap on training batches per epoch (quick runs); default: the whole training set'})),
    // No default: a spec without it resolves (and hashes) as before.
    accumulate_grad_batches: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        description:
          "as Lightning's accumulate_grad_batches: the gradients of this many batches (each batch's loss divided by it) make one optimizer step, so the step sees batch_size × this images (BatchNorm still sees batch_size); the schedule counts optimizer steps, and an epoch's last step takes the batches left; with engine.precision mixed16, as GradScaler accumulates (one overflow check per optimizer step)",
      }),
    ),
    optimizer: withDefault(optimizerSchema, {} as OptimizerSpec),
    schedule: withDefault(scheduleSchema, {type: 'constant'}),
    loss: withDefault(
      Type.Unsafe<LossSpec>({
        type: ['string', 'object'],
        description: "the training loss: a registered loss (cross_entropy, or a plugin's) as a name or {type, ...}; the test and validation loss stay plain cross-entropy (mixture list loss shows each one's keys)",
      }),
      'cross_entropy',
    ),
    label_smoothing: withDefault(
      Type.Number({minimum: 0, maximum: 1, description: 'as PyTorch CrossEntropyLoss(label_smoothing): the target is (1 − ε)·one-hot + ε/classes (training loss; the test loss stays plain)'}),
      0,
    ),
    grad_clip: Type.Optional(
      Type.Object(
        {max_norm: Type.Number({exclusiveMinimum: 0, maximum: 1e12, description: 'clip the global L2 norm of all gradients to this (PyTorch clip_grad_norm_)'})},
        {additionalProperties: false},
      ),
    ),
    early_stopping: Type.Optional(earlyStoppingSchema),
    metrics_every: withDefault(Type.Integer({minimum: 1, maximum: 100_000_000, description: 'read loss/accuracy back from the device every N steps'}), 25),
    accuracy: withDefault(
      enumOf(['per_example', 'batch_mean'], {
        description:
          "an epoch's train and test accuracy: per_example = correct / examples; batch_mean = the mean of per-batch accuracies (the paper's definition: a short last batch weighs as much as a full one)",
      }),
      'per_example',
    ),
    checkpoint_every: withDefault(Type.Integer({minimum: 1, maximum: 100_000, description: 'epochs between checkpoints'}), 1),
    // No default: a spec without it resolves (and hashes) as before.
    ema: Type.Optional(
      Type.Object(
        {
          decay: withDefault(
            Type.Number({
              minimum: 0,
              exclusiveMaximum: 1,
              description: "shadow ← shadow · decay + (1 − decay) · weight after every step (timm's ModelEmaV2 default 0.9998; the average spans about 1 / (1 − decay) steps)",
            }),
            0.9998,
          ),
          // No default: an ema without it resolves (and hashes) as before.
          warmup: Type.Optional(
            Type.Boolean({
              description:
                "timm's --model-ema-warmup (ModelEmaV3 use_warmup): the decay of step n is min(decay, 1 − n^(−2/3)) — 0 at the first step, about 0.99 by step 1,000 — so that the average soon leaves the first weights behind",
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            "an exponential moving average of the weights (BatchNorm statistics too), as timm's --model-ema: evaluation, best.ckpt, eval, predict and export use the average; the train columns stay the trained weights'",
        },
      ),
    ),
    mixup: Type.Optional(mixupSchema),
    init_from: Type.Optional(initFromSchema),
    freeze: Type.Optional(
      Type.Array(Type.String({minLength: 1}), {
        minItems: 1,
        description:
          "weights that are not trained (PyTorch requires_grad_(False)): layers by name (block1_cnn_unit1_conv), single weights (head_fc/bias) or patterns with * (block1_*); no gradient, no update, no optimizer state; BatchNorm statistics still follow the batches; mixture params --weights lists the names",
      }),
    ),
  },
  {additionalProperties: false},
)

const modelSchema = openObject({
  type: Type.String({description: 'mixture, or a baseline: resnet18, vit_classifier, perceiver_classifier, cnn_classifier'}),
  preset: Type.Optional(Type.String()),
  init: withDefault(enumOf(['torch', 'tfjs'], {description: 'torch: what the PyTorch module does, its own init loop included (module defaults U(±1/√fan_in); torchvision ResNet convs kaiming normal fan_out); tfjs: Glorot/He'}), 'torch'),
  num_classes: withDefault(nullableInteger({minimum: 2, maximum: 1_000_000, description: "null = the dataset's"}), null),
})

/** GradScaler's settings (torch.cuda.amp.GradScaler's arguments and defaults); used by engine.precision mixed16 only. */
const lossScaleSchema = Type.Object(
  {
    init: withDefault(Type.Number({exclusiveMinimum: 0, maximum: 1e30, description: 'the loss scale of the first step'}), 65536),
    growth_factor: withDefault(Type.Number({exclusiveMinimum: 1, maximum: 1e6, description: 'the scale is multiplied by this after growth_interval steps without an overflow'}), 2),
    backoff_factor: withDefault(Type.Number({exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'the scale is multiplied by this when a step overflows (that step is skipped)'}), 0.5),
    growth_interval: withDefault(Type.Integer({minimum: 1, maximum: 100_000_000, description: 'steps without an overflow before the scale grows'}), 2000),
  },
  {additionalProperties: false},
)

const engineSchema = Type.Object(
  {
    backend: withDefault(enumOf(BACKENDS), 'auto'),
    threads: withDefault(nullableInteger({minimum: 1, maximum: 1024, description: 'CPU threads (null = all cores; MIXTURE_THREADS overrides)'}), null),
    webgpu: withDefault(filledObject(engineSwitchSchema()), {}),
    // No default: a spec without it resolves (and hashes) as before.
    device: Type.Optional(
      Type.Unsafe<number | string>({
        type: ['integer', 'string'],
        minimum: 0,
        maximum: 255,
        pattern: PCI_BUS_PATTERN,
        patternMessage: 'is neither an adapter index nor a PCI bus id like 0000:3b:00.0',
        description:
          "webgpu: the adapter to train on, by index (mixture lists them when the index is wrong) or PCI bus id (0000:3b:00.0, as nvidia-smi --query-gpu=pci.bus_id gives it); unset: the GPU Slurm allocated, else Dawn's choice",
      }),
    ),
    data_workers: withDefault(
      oneOf([Type.Integer({minimum: 0, maximum: 64}), constant('auto')], {
        description:
          'threads that make the training batches (shuffle, augmentation, scaling) while steps run: 0 = on the training thread; auto = min(cores − 1, 4) on a GPU, 0 on the CPU backends; the batches are the same whatever the count (MIXTURE_DATA_WORKERS overrides)',
      }),
      'auto',
    ),
    prefetch: withDefault(nullableInteger({minimum: 1, maximum: 1024, description: 'batches asked of the data workers ahead of the step being trained (null = twice the workers; MIXTURE_PREFETCH overrides)'}), null),
    precision: withDefault(
      enumOf(PRECISIONS, {
        description:
          'fp32: every value float32; mixed16: PyTorch AMP — products and convolutions on float16 operands with float32 accumulation and float16 results, float32 weights, optimizer state and normalisation statistics, dynamic loss scaling (engine.loss_scale); webgpu on an adapter with shader-f16 only (docs/mixed-precision.md)',
      }),
      'fp32',
    ),
    loss_scale: withDefault(lossScaleSchema, {}),
  },
  {additionalProperties: false},
)

const outputSchema = Type.Object({dir: withDefault(Type.String({description: 'root of run folders'}), 'results')}, {additionalProperties: false})

export const specSchema = Type.Object(
  {
    name: Type.String({pattern: NAME_PATTERN, maxLength: 200, description: 'run name; results go to <output.dir>/<name>/'}),
    label: Type.Optional(Type.String({description: "model name as the paper's tables write it"})),
    description: Type.Optional(Type.String()),
    extends: Type.Optional(Type.String({description: 'base spec this one overrides (resolved relative to this file)'})),
    plugins: withDefault(Type.Array(Type.String(), {description: 'plugin files (.js/.mjs) that register components'}), []),
    seed: withDefault(Type.Integer({minimum: 0, maximum: 4294967295}), 42),
    data: dataSchema,
    model: modelSchema,
    train: withDefault(trainSchema, {}),
    engine: withDefault(engineSchema, {}),
    output: withDefault(outputSchema, {}),
  },
  {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://mixture-models.dev/spec.schema.json',
    title: 'mixture-models experiment spec',
    additionalProperties: false,
  },
)

/** A spec after validation: extends and overrides applied, every default filled, plugin paths absolute. */
export type ResolvedSpec = Resolved<typeof specSchema>
/** `train.mixup` with its defaults filled in. */
export type MixupSpec = NonNullable<ResolvedSpec['train']['mixup']>

/** Whether `train.mixup` mixes anything: with both alphas 0 and no cutmix_minmax it is off (timm's --mixup 0 --cutmix 0), and the run trains on plain labels. */
export function mixesAnything(mixup: Pick<MixupSpec, 'mixup_alpha' | 'cutmix_alpha' | 'cutmix_minmax'> | undefined): boolean {
  return mixup !== undefined && (mixup.mixup_alpha > 0 || mixup.cutmix_alpha > 0 || mixup.cutmix_minmax !== undefined)
}

/** Keys of a registry part (`{type, preset?, ...params}`: a component, adapter, head, transform, …) that belong to the spec, not to its parameters. */
export const PART_META_KEYS = ['type', 'preset'] as const

/** Keys of the model object that belong to the spec, not to the model plugin's parameters. */
export const MODEL_META_KEYS = [...PART_META_KEYS, 'init', 'num_classes'] as const
