/**
 * A mistyped command (`mixture trian`). In a terminal, @oclif/plugin-not-found's prompt ("Did you
 * mean train?", then runs it). Elsewhere — a script, a Slurm job, CI — where nobody can answer a
 * prompt, the nearest command is named in the error instead, and the exit code is 127 (as a shell's
 * "command not found").
 */
import type {Hook} from '@oclif/core'
import {toConfiguredId} from '@oclif/core'
import {nearest} from '../config/suggest.js'
import notFoundPrompt from '@oclif/plugin-not-found'

const hook: Hook.CommandNotFound = async function (opts) {
  if (process.stdin.isTTY) return notFoundPrompt.call(this, opts)
  const hidden = new Set(opts.config.commands.filter((c) => c.hidden).map((c) => c.id))
  const ids = [...opts.config.commandIDs, ...opts.config.commands.flatMap((c) => c.aliases)].filter((c) => !hidden.has(c))
  const closest = nearest(opts.id, ids)?.name
  const bin = opts.config.bin
  const typed = toConfiguredId(opts.id, opts.config)
  const suggestion = closest ? ` Did you mean \`${bin} ${toConfiguredId(closest, opts.config)}\`?` : ''
  const message = `${typed} is not a ${bin} command.${suggestion} Run \`${bin} help\` for a list of the commands.`
  // --json promises one JSON document on stdout, errors included, as every command's catch writes it.
  if (opts.argv?.includes('--json')) process.stdout.write(`${JSON.stringify({error: {message, code: 127}}, null, 2)}\n`)
  this.error(message, {exit: 127})
}

export default hook
