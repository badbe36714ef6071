/**
 * `mixture schema`: the spec's schema (src/schema/spec.ts) and, per model, component, dataset,
 * transform, optimizer, schedule and loss the registry holds, its parameters, as one JSON Schema document
 * for editors.
 */
import {allEntries, names, type JsonSchema} from '../registry/registry.js'
import {MODEL_META_KEYS, specSchema} from '../schema/spec.js'

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
  const modelMeta = Object.fromEntries(MODEL_META_KEYS.map((k) => [k, specSchema.properties.model.properties[k]]))
  schema.properties.model = {...schema.properties.model, allOf: byKind('model').map((e) => branch(e, modelMeta)), properties: {...(schema.properties.model.properties as object), type: {enum: byKind('model').map((e) => e.name)}}}
  schema.$defs = {
    component: {type: 'object', required: ['type'], properties: {type: {enum: byKind('component').map((e) => e.name)}}, allOf: byKind('component').map((e) => branch(e, partMeta))},
    transform: {type: 'object', required: ['type'], properties: {type: {enum: names('transform')}}, allOf: allEntries(['transform']).map((e) => branch(e, {type: {type: 'string'}}))},
  }
  // train.optimizer, train.schedule and train.loss: each type's keys (checked in stage 2, so that a typo gets a did-you-mean).
  const train = schema.properties.train as {properties: Record<string, Record<string, unknown>>}
  const byType = (kind: 'optimizer' | 'schedule' | 'loss') => allEntries([kind]).map((e) => branch(e, {type: {type: 'string'}}))
  const optimizer = train.properties.optimizer as {properties: Record<string, object>}
  train.properties.optimizer = {...optimizer, properties: {...optimizer.properties, type: {...optimizer.properties.type, enum: names('optimizer')}}, allOf: byType('optimizer')}
  const schedules = {type: 'object', required: ['type'], properties: {type: {enum: names('schedule')}}, allOf: byType('schedule')}
  train.properties.schedule = {...train.properties.schedule, anyOf: [{enum: names('schedule')}, schedules]}
  const losses = {type: 'object', required: ['type'], properties: {type: {enum: names('loss')}}, allOf: byType('loss')}
  train.properties.loss = {...train.properties.loss, anyOf: [{enum: names('loss')}, losses]}
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
