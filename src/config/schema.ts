/**
 * The JSON Schema of an experiment spec (stage 1). Model and component parameters are checked in
 * stage 2 against each plugin's own schema (see validate.ts), because ajv's `useDefaults` does not
 * reach inside `oneOf`; so are the keys of each optimizer and schedule type (`optimizerSchemas`,
 * `scheduleSchemas`; config/recipe.ts). `editorSchema()` stitches both into one document for editors.
 */
import {BACKENDS} from '../engine/backend.js'
import {allEntries, names, type JsonSchema} from '../registry/registry.js'

/** Run and sweep names: they become folder names, so no separators, no leading dot. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$'

/** Why `name` cannot name a run or sweep folder, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (new RegExp(NAME_PATTERN).test(name) && name.length <= 200) return undefined
  return `${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)} cannot name a folder: use letters, digits, ".", "_" and "-", starting with a letter or digit (no "/" or ".."), at most 200 characters`
}

const dataSchema = {
  type: 'object',
  // The dataset's own keys (data.synthetic, data.root, ...) are checked in stage 2 against its registry schema.
  additionalProperties: true,
  required: ['dataset'],
  properties: {
    dataset: {type: 'string', description: 'a registered dataset: cifar10, cifar100, stl10, fashion_mnist, mnist, synthetic, image_folder, or a plugin\'s (mixture list dataset)'},
    image_size: {type: 'integer', minimum: 2, maximum: 1024, default: 32, description: 'square side the images are resized or padded to (image_folder without it: the side its images share)'},
    data_dir: {type: 'string', description: 'folder holding the dataset files (else --data-dir, MIXTURE_DATA, the user cache)'},
    label_mode: {enum: ['fine', 'coarse'], default: 'fine', description: 'CIFAR-100 labels'},
    resize: {enum: ['bilinear', 'pad'], description: 'how images of another size reach image_size (default: pad for (Fashion-)MNIST, bilinear otherwise)'},
    train_limit: {type: 'integer', minimum: 1, maximum: 100_000_000, description: 'use only the first N training images'},
    test_limit: {type: 'integer', minimum: 1, maximum: 100_000_000, description: 'use only the first N test images'},
    augment: {
      oneOf: [
        {const: false},
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            hflip: {type: 'boolean', default: true, description: 'random horizontal flip, p = 0.5'},
            brightness: {type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'brightness factor drawn from [1-b, 1+b]'},
            hue: {type: 'number', minimum: 0, maximum: 0.5, default: 0.25, description: 'hue shift drawn from [-h, h]'},
          },
        },
        {
          type: 'array',
          items: {oneOf: [{type: 'string'}, {type: 'object', required: ['type'], properties: {type: {type: 'string'}}}]},
        },
      ],
      description: 'training augmentation: false, the paper\'s {hflip, brightness, hue}, or a list of transforms ([hflip, {type: random_crop, padding: 4}, ...]; mixture list transform)',
    },
  },
}

/** The keys of `data:` that every dataset shares; the others belong to the dataset's registry schema. */
export const DATA_KEYS: readonly string[] = Object.keys(dataSchema.properties)

/** `train.optimizer.type`: PyTorch's Adam (coupled L2), AdamW (decoupled decay) and SGD. */
export const OPTIMIZER_TYPES = ['adam', 'adamw', 'sgd'] as const

/** `train.optimizer.weight_decay_exclude`: the parameter roles that can be left out of weight decay. */
export const DECAY_EXCLUDABLE = ['bias', 'norm'] as const

/** `train.schedule.type` (a schedule may also be written as its name alone). */
export const SCHEDULE_TYPES = ['constant', 'step', 'multistep', 'cosine', 'onecycle'] as const

/** `train.early_stopping.metric`: a column of metrics.csv. */
export const EARLY_STOPPING_METRICS = ['test_accuracy', 'test_loss', 'train_accuracy', 'train_loss'] as const

const lr = {type: 'number', exclusiveMinimum: 0, default: 0.001, description: 'learning rate (the peak of a schedule)'}
const weightDecayExclude = {
  type: 'array',
  items: {enum: [...DECAY_EXCLUDABLE]},
  uniqueItems: true,
  default: [],
  description: 'parameter roles without weight decay: bias (every layer\'s bias), norm (every normalisation layer\'s gamma and beta)',
}

/** The schema of one optimizer or schedule type: `type` and its own keys, nothing else. */
function typed(type: string, properties: Record<string, JsonSchema>, required?: string[]): JsonSchema {
  return {type: 'object', additionalProperties: false, ...(required ? {required} : {}), properties: {type: {const: type}, ...properties}}
}

/** Adam's and AdamW's keys: they differ only in how weight decay applies. */
function adamSchema(type: 'adam' | 'adamw', weightDecay: {default: number; description: string}): JsonSchema {
  return typed(type, {
    lr,
    weight_decay: {type: 'number', minimum: 0, maximum: 1e6, ...weightDecay},
    weight_decay_exclude: weightDecayExclude,
    betas: {type: 'array', items: {type: 'number', minimum: 0, exclusiveMaximum: 1}, minItems: 2, maxItems: 2, default: [0.9, 0.999]},
    eps: {type: 'number', exclusiveMinimum: 0, maximum: 1, default: 1e-8},
  })
}

/**
 * Each optimizer's own keys (stage 2 checks `train.optimizer` against its type's schema and fills
 * its defaults, which are PyTorch's but for Adam's weight decay, the paper's 1e-4).
 */
export const optimizerSchemas: Record<(typeof OPTIMIZER_TYPES)[number], JsonSchema> = {
  adam: adamSchema('adam', {default: 0.0001, description: 'coupled L2 (PyTorch Adam weight_decay): gradient += weight_decay · weight'}),
  adamw: adamSchema('adamw', {default: 0.01, description: 'decoupled decay (PyTorch AdamW): weight ← weight · (1 − lr · weight_decay) before the Adam step'}),
  sgd: typed('sgd', {
    lr,
    weight_decay: {type: 'number', minimum: 0, maximum: 1e6, default: 0, description: 'L2 as PyTorch SGD: gradient += weight_decay · weight'},
    weight_decay_exclude: weightDecayExclude,
    momentum: {type: 'number', minimum: 0, maximum: 1, default: 0},
    dampening: {type: 'number', minimum: 0, maximum: 1, default: 0},
    nesterov: {type: 'boolean', default: false, description: 'Nesterov momentum (needs momentum > 0 and dampening 0)'},
  }),
}

const gamma = {type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'the factor of each decay'}

/** Each schedule's own keys (stage 2, as the optimizers'); epochs count from 0, as PyTorch's schedulers do. */
export const scheduleSchemas: Record<(typeof SCHEDULE_TYPES)[number], JsonSchema> = {
  constant: typed('constant', {}),
  step: typed('step', {step_size: {type: 'integer', minimum: 1, maximum: 100_000, description: 'epochs between decays (PyTorch StepLR)'}, gamma}, ['step_size']),
  multistep: typed(
    'multistep',
    {milestones: {type: 'array', items: {type: 'integer', minimum: 1, maximum: 100_000}, minItems: 1, maxItems: 1000, description: 'epochs at which the learning rate is multiplied by gamma (PyTorch MultiStepLR)'}, gamma},
    ['milestones'],
  ),
  cosine: typed('cosine', {
    warmup_epochs: {type: 'integer', minimum: 0, maximum: 100_000, default: 0, description: 'linear warmup first (PyTorch LinearLR), then cosine annealing over the remaining steps'},
    warmup_start_factor: {type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.01, description: 'the warmup starts at lr · warmup_start_factor'},
    min_lr: {type: 'number', minimum: 0, maximum: 1e6, default: 0, description: 'the learning rate at the end of training (CosineAnnealingLR eta_min)'},
  }),
  onecycle: typed('onecycle', {
    pct_start: {type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.3, description: 'share of the steps spent rising to optimizer.lr (PyTorch OneCycleLR; the momentum is not cycled)'},
    div_factor: {type: 'number', minimum: 1, maximum: 1e12, default: 25, description: 'the first step\'s learning rate is lr / div_factor'},
    final_div_factor: {type: 'number', minimum: 1, maximum: 1e12, default: 10000, description: 'the last step\'s is lr / div_factor / final_div_factor'},
    anneal_strategy: {enum: ['cos', 'linear'], default: 'cos'},
  }),
}

const trainSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    epochs: {type: 'integer', minimum: 1, maximum: 100_000, default: 50},
    batch_size: {type: 'integer', minimum: 1, maximum: 65536, default: 64},
    eval_batch_size: {type: 'integer', minimum: 1, maximum: 65536, description: 'defaults to batch_size'},
    steps_per_epoch: {type: 'integer', minimum: 1, maximum: 100_000_000, description: 'cap on training steps per epoch (quick runs); default: the whole training set'},
    optimizer: {
      type: 'object',
      // The other keys belong to the type's schema (optimizerSchemas), checked in stage 2.
      additionalProperties: true,
      default: {},
      properties: {type: {enum: [...OPTIMIZER_TYPES], default: 'adam', description: 'adam (PyTorch Adam, coupled L2), adamw (decoupled decay), sgd (momentum, dampening, nesterov)'}},
    },
    schedule: {
      type: ['string', 'object'],
      default: {type: 'constant'},
      description: `learning rate over training: ${SCHEDULE_TYPES.join(', ')}, as a name or {type, ...} (mixture schema lists each one's keys)`,
    },
    loss: {enum: ['cross_entropy'], default: 'cross_entropy'},
    label_smoothing: {type: 'number', minimum: 0, maximum: 1, default: 0, description: 'as PyTorch CrossEntropyLoss(label_smoothing): the target is (1 − ε)·one-hot + ε/classes (training loss; the test loss stays plain)'},
    grad_clip: {
      type: 'object',
      additionalProperties: false,
      required: ['max_norm'],
      properties: {max_norm: {type: 'number', exclusiveMinimum: 0, maximum: 1e12, description: 'clip the global L2 norm of all gradients to this (PyTorch clip_grad_norm_)'}},
    },
    early_stopping: {
      type: 'object',
      additionalProperties: false,
      properties: {
        metric: {enum: [...EARLY_STOPPING_METRICS], default: 'test_accuracy'},
        mode: {enum: ['max', 'min'], description: 'max: higher is better; default: max for accuracies, min for losses'},
        patience: {type: 'integer', minimum: 1, maximum: 100_000, default: 10, description: 'epochs without improvement before training stops'},
        min_delta: {type: 'number', minimum: 0, maximum: 1e6, default: 0, description: 'an improvement must exceed this'},
      },
    },
    metrics_every: {type: 'integer', minimum: 1, maximum: 100_000_000, default: 25, description: 'read loss/accuracy back from the device every N steps'},
    checkpoint_every: {type: 'integer', minimum: 1, maximum: 100_000, default: 1, description: 'epochs between checkpoints'},
  },
}

export const specSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://mixture-models.dev/spec.schema.json',
  title: 'mixture-models experiment spec',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'data', 'model'],
  properties: {
    name: {type: 'string', pattern: NAME_PATTERN, maxLength: 200, description: 'run name; results go to <output.dir>/<name>/'},
    label: {type: 'string', description: 'model name as the paper\'s tables write it'},
    description: {type: 'string'},
    extends: {type: 'string', description: 'base spec this one overrides (resolved relative to this file)'},
    plugins: {type: 'array', items: {type: 'string'}, default: [], description: 'plugin files (.js/.mjs) that register components'},
    seed: {type: 'integer', minimum: 0, maximum: 4294967295, default: 42},
    data: dataSchema,
    model: {
      type: 'object',
      required: ['type'],
      properties: {
        type: {type: 'string', description: 'mixture, or a baseline: resnet18, vit_classifier, perceiver_classifier, cnn_classifier'},
        preset: {type: 'string'},
        init: {enum: ['torch', 'tfjs'], default: 'torch', description: 'torch: PyTorch default init (U(±1/√fan_in)); tfjs: Glorot/He'},
        num_classes: {type: ['integer', 'null'], minimum: 2, maximum: 1_000_000, default: null, description: 'null = the dataset\'s'},
      },
      additionalProperties: true,
    },
    train: {...trainSchema, default: {}},
    engine: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        backend: {enum: [...BACKENDS], default: 'auto'},
        threads: {type: ['integer', 'null'], minimum: 1, maximum: 1024, default: null, description: 'CPU threads (null = all cores)'},
      },
    },
    output: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {dir: {type: 'string', default: 'results', description: 'root of run folders'}},
    },
  },
}

/** Keys of the model object that belong to the spec, not to the model plugin's parameters. */
export const MODEL_META_KEYS = ['type', 'preset', 'init', 'num_classes'] as const

/** One schema for editors: stage 1 plus, per model/component type, its parameters (if/then on `type`). */
export function editorSchema(): JsonSchema {
  const schema = structuredClone(specSchema) as {properties: Record<string, Record<string, unknown>>; $defs?: Record<string, unknown>}
  const entries = allEntries()
  const byKind = (kind: string) => entries.filter((e) => e.kind === kind)
  const branch = (e: {name: string; schema: JsonSchema}, meta: Record<string, unknown>) => ({
    if: {properties: {type: {const: e.name}}, required: ['type']},
    then: {...e.schema, properties: {...(e.schema.properties as object), ...meta}},
  })
  const partMeta = {type: {type: 'string'}, preset: {type: 'string'}}
  const modelMeta = Object.fromEntries(MODEL_META_KEYS.map((k) => [k, (specSchema.properties as Record<string, {properties: Record<string, unknown>}>).model.properties[k]]))
  schema.properties.model = {...schema.properties.model, allOf: byKind('model').map((e) => branch(e, modelMeta)), properties: {...(schema.properties.model.properties as object), type: {enum: byKind('model').map((e) => e.name)}}}
  schema.$defs = {
    component: {type: 'object', required: ['type'], properties: {type: {enum: byKind('component').map((e) => e.name)}}, allOf: byKind('component').map((e) => branch(e, partMeta))},
    transform: {type: 'object', required: ['type'], properties: {type: {enum: names('transform')}}, allOf: allEntries(['transform']).map((e) => branch(e, {type: {type: 'string'}}))},
  }
  // train.optimizer and train.schedule: each type's keys (checked in stage 2, so that a typo gets a did-you-mean).
  const train = schema.properties.train as {properties: Record<string, Record<string, unknown>>}
  const byType = (schemas: Record<string, JsonSchema>) => Object.entries(schemas).map(([type, s]) => ({if: {properties: {type: {const: type}}}, then: s}))
  train.properties.optimizer = {...train.properties.optimizer, allOf: byType(optimizerSchemas)}
  train.properties.schedule = {...train.properties.schedule, anyOf: [{enum: [...SCHEDULE_TYPES]}, {type: 'object', required: ['type'], properties: {type: {enum: [...SCHEDULE_TYPES]}}, allOf: byType(scheduleSchemas)}]}
  const data = schema.properties.data as {properties: Record<string, Record<string, unknown>>}
  const augment = data.properties.augment as {oneOf: Record<string, unknown>[]}
  augment.oneOf[2] = {type: 'array', items: {oneOf: [{enum: names('transform')}, {$ref: '#/$defs/transform'}]}}
  schema.properties.data = {
    ...data,
    properties: {...data.properties, dataset: {...data.properties.dataset, enum: names('dataset')}},
    allOf: allEntries(['dataset']).map((e) => ({
      if: {properties: {dataset: {const: e.name}}, required: ['dataset']},
      then: {properties: e.schema.properties ?? {}, ...(e.schema.required ? {required: e.schema.required} : {})},
    })),
  }
  return schema
}
