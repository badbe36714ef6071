/**
 * A mistyped command (`mixture trian`). In a terminal, @oclif/plugin-not-found's prompt ("Did you
 * mean train?", then runs it). Elsewhere — a script, a Slurm job, CI — where nobody can answer a
 * prompt, the nearest command is named in the error instead, and the exit code is 127 (as a shell's
 * "command not found").
 */
import type {Hook} from '@oclif/core'
import {toConfiguredId} from '@oclif/core'
import levenshtein from 'fast-levenshtein'
import notFoundPrompt from '@oclif/plugin-not-found'

/** The visible command (or alias) nearest to `id` by edit distance. */
export function nearestCommand(id: string, commandIds: string[]): string | undefined {
  let best: {id: string; distance: number} | undefined
  for (const candidate of commandIds) {
    const distance = levenshtein.get(id, candidate)
    if (!best || distance < best.distance) best = {id: candidate, distance}
  }
  return best?.id
}

const hook: Hook.CommandNotFound = async function (opts) {
  if (process.stdin.isTTY) return notFoundPrompt.call(this, opts)
  const hidden = new Set(opts.config.commands.filter((c) => c.hidden).map((c) => c.id))
  const ids = [...opts.config.commandIDs, ...opts.config.commands.flatMap((c) => c.aliases)].filter((c) => !hidden.has(c))
  const nearest = nearestCommand(opts.id, ids)
  const bin = opts.config.bin
  const typed = toConfiguredId(opts.id, opts.config)
  const suggestion = nearest ? ` Did you mean \`${bin} ${toConfiguredId(nearest, opts.config)}\`?` : ''
  const message = `${typed} is not a ${bin} command.${suggestion} Run \`${bin} help\` for a list of the commands.`
  // --json promises one JSON document on stdout, errors included, as every command's catch writes it.
  if (opts.argv?.includes('--json')) process.stdout.write(`${JSON.stringify({error: {message, code: 127}}, null, 2)}\n`)
  this.error(message, {exit: 127})
}

export default hook
