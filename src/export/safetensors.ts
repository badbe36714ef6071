/**
 * The safetensors format (Hugging Face's): an 8-byte little-endian header length, a JSON header
 * mapping each tensor's name to {dtype, shape, data_offsets: [begin, end]} (byte offsets into the
 * data that follows, which they cover without gaps) plus a `__metadata__` map of strings, padded
 * with spaces to a multiple of 8 bytes, then the little-endian tensor data. Written here because
 * the format is this small and the only npm package for it is a single 0.0.1 release.
 */

export type SafetensorsDtype = 'F32' | 'I64'

export interface SafeTensor {
  name: string
  dtype: SafetensorsDtype
  shape: number[]
  data: Float32Array | BigInt64Array
}

/** The file's chunks: length prefix, header, then the tensors' bytes in the order given. */
export function encodeSafetensors(tensors: SafeTensor[], metadata: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = {__metadata__: metadata}
  const chunks: Uint8Array[] = []
  let offset = 0
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new Error(`safetensors: tensor name "${t.name}" is used twice or reserved`)
    const size = t.shape.reduce((a, b) => a * b, 1)
    if (size !== t.data.length) throw new Error(`safetensors: ${t.name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`)
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
    header[t.name] = {dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength]}
    chunks.push(bytes)
    offset += bytes.byteLength
  }
  const json = Buffer.from(JSON.stringify(header))
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20)
  json.copy(padded)
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(BigInt(padded.length))
  return [prefix, padded, ...chunks]
}
