/**
 * The few schema builders the spec and our plugins need beyond TypeBox's own, each emitting exactly
 * the JSON Schema keyword that ajv's messages are written for (`enum`, `oneOf`, `type: [x, 'null']`),
 * and `Resolved<T>`: the TypeScript type of a value after ajv validated it and filled its defaults
 * (TypeBox's `Static<T>` is the type before: a key with a default may be left out).
 */
import {Type, type ObjectOptions, type SchemaOptions, type Static, type TArray, type TObject, type TOptional, type TProperties, type TSchema, type TUnsafe} from '@sinclair/typebox'

declare const FILLED: unique symbol

/** A key a spec or a plugin's parameters may leave out, which validation fills with its default. */
export type TDefault<T extends TSchema> = TOptional<T> & {readonly [FILLED]: true}

/** `schema` with `default: value`: optional to write, always present after validation. */
export function withDefault<T extends TSchema>(schema: T, value: Static<T>): TDefault<T> {
  return Type.Optional({...schema, default: value}) as TDefault<T>
}

/** An object every key of which has a default in its schema (`engine.webgpu`): each key optional to write, present once validated. */
export function filledObject<P extends TProperties>(schema: TObject<P>): TObject<{[K in keyof P]: TDefault<P[K]>}> {
  for (const [key, property] of Object.entries(schema.properties)) if (!('default' in property)) throw new Error(`filledObject: ${key} has no default`)
  const properties = Object.fromEntries(Object.entries(schema.properties).map(([key, property]) => [key, Type.Optional(property)]))
  return Type.Object(properties, {additionalProperties: schema.additionalProperties}) as TObject<{[K in keyof P]: TDefault<P[K]>}>
}

/** An object that also takes keys it does not list (checked in stage 2, against a plugin's or dataset's own schema). */
export type TOpen<P extends TProperties> = TObject<P> & {additionalProperties: true}

export function openObject<P extends TProperties>(properties: P, options: ObjectOptions = {}): TOpen<P> {
  return Type.Object(properties, {...options, additionalProperties: true}) as TOpen<P>
}

/** One of `values` (JSON Schema `enum`: ajv says "must be one of …", and a did-you-mean can be offered). */
export function enumOf<const V extends readonly (string | number | boolean)[]>(values: V, options: SchemaOptions = {}): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({...options, enum: [...values]})
}

/** Exactly one of `schemas` (JSON Schema `oneOf`, reported as one problem naming the forms allowed). */
export function oneOf<T extends TSchema[]>(schemas: [...T], options: SchemaOptions = {}): TUnsafe<Static<T[number]>> {
  return Type.Unsafe<Static<T[number]>>({...options, oneOf: schemas})
}

/** An integer or null (`type: ['integer', 'null']`), with the integer's bounds. */
export function nullableInteger(options: SchemaOptions & {minimum?: number; maximum?: number} = {}): TUnsafe<number | null> {
  return Type.Unsafe<number | null>({type: ['integer', 'null'], ...options})
}

/** A value that is exactly `value` (`const`). */
export function constant<const V extends string | number | boolean>(value: V): TUnsafe<V> {
  return Type.Unsafe<V>({const: value})
}

/** The keys of `P` that a validated value always has: those required, and those validation fills. */
type PresentKeys<P extends TProperties> = {[K in keyof P]: P[K] extends {readonly [FILLED]: true} ? K : P[K] extends TOptional<TSchema> ? never : K}[keyof P]

type Flatten<T> = {[K in keyof T]: T[K]} & {}

type ResolvedProperties<P extends TProperties> = Flatten<{[K in PresentKeys<P>]: Resolved<P[K]>} & {[K in Exclude<keyof P, PresentKeys<P>>]?: Resolved<P[K]>}>

/** The type of a value that ajv validated against `T` with `useDefaults`: every key with a default is present. */
export type Resolved<T extends TSchema> =
  T extends TOpen<infer P>
    ? ResolvedProperties<P> & Record<string, unknown>
    : T extends TObject<infer P>
      ? ResolvedProperties<P>
      : T extends TArray<infer I>
        ? Resolved<I>[]
        : Static<T>
