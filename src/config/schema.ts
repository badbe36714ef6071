/**
 * The JSON Schema of an experiment spec (stage 1). Model and component parameters are checked in
 * stage 2 against each plugin's own schema (see validate.ts), because ajv's `useDefaults` does not
 * reach inside `oneOf`. `editorSchema()` stitches both into one document for editors.
 */
import {BACKENDS} from '../engine/backend.js'
import {allEntries, names, type JsonSchema} from '../registry/registry.js'

/** `engine.device` given as a PCI bus id: `[domain:]bus:device.function` in hex (devices.ts reads the same forms). */
export const PCI_BUS_PATTERN = '^([0-9a-fA-F]{1,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]$'

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
      additionalProperties: false,
      default: {},
      properties: {
        type: {enum: ['adam'], default: 'adam'},
        lr: {type: 'number', exclusiveMinimum: 0, default: 0.001},
        weight_decay: {type: 'number', minimum: 0, default: 0.0001, description: 'coupled L2 (PyTorch Adam weight_decay), on every trainable tensor'},
        betas: {type: 'array', items: {type: 'number', minimum: 0, exclusiveMaximum: 1}, minItems: 2, maxItems: 2, default: [0.9, 0.999]},
        eps: {type: 'number', exclusiveMinimum: 0, default: 1e-8},
      },
    },
    loss: {enum: ['cross_entropy'], default: 'cross_entropy'},
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
        // No default: a spec without it resolves (and hashes) as before.
        device: {
          type: ['integer', 'string'],
          minimum: 0,
          maximum: 255,
          pattern: PCI_BUS_PATTERN,
          patternMessage: 'is neither an adapter index nor a PCI bus id like 0000:3b:00.0',
          description: 'webgpu: the adapter to train on, by index (mixture lists them when the index is wrong) or PCI bus id (0000:3b:00.0, as nvidia-smi --query-gpu=pci.bus_id gives it); unset: the GPU Slurm allocated, else Dawn\'s choice',
        },
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
