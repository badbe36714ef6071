/**
 * Checking an entry's parameters against its JSON Schema outside spec validation (a dataset or a
 * transform used from code): defaults filled in place, problems as short sentences. Specs get the
 * richer, file:line messages of config/validate.ts.
 */
import {Ajv, type ValidateFunction} from 'ajv'
import type {JsonSchema} from './registry.js'

const ajv = new Ajv({allErrors: true, useDefaults: true, strict: false})
const compiled = new WeakMap<object, ValidateFunction>()

/** Validates `params` against `schema`, filling its defaults in place; returns one line per problem (none: valid). */
export function paramErrors(schema: JsonSchema, params: Record<string, unknown>): string[] {
  let validate = compiled.get(schema)
  if (!validate) {
    validate = ajv.compile(schema)
    compiled.set(schema, validate)
  }
  if (validate(params)) return []
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath.slice(1).replace(/\//g, '.')
    const key = e.keyword === 'additionalProperties' ? (e.params as {additionalProperty: string}).additionalProperty : e.keyword === 'required' ? (e.params as {missingProperty: string}).missingProperty : ''
    const path = [where, key].filter(Boolean).join('.')
    const message = e.keyword === 'additionalProperties' ? 'is not a known key' : e.keyword === 'required' ? 'is required' : (e.message ?? 'is invalid')
    return `${path || 'the value'} ${message}`
  })
}
