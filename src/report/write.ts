/** Output files of the report commands, written through a temporary file and a rename, so readers never see a half-written file. */
import {renameSync, rmSync, writeFileSync} from 'node:fs'

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    writeFileSync(temporary, data)
    renameSync(temporary, file)
  } catch (error) {
    rmSync(temporary, {force: true})
    throw error
  }
}
