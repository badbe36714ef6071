// What --help and the oclif plugins show, checked through the real command table and binary.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {Config, Help, loadHelpClass, type Command} from '@oclif/core'

import {REPO, tempDir} from '../helpers.js'

function mixture(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'run.js'), ...args], {cwd: REPO, encoding: 'utf8', env: {...process.env, NO_COLOR: '1', ...env}})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

/** The project's own commands (not the help and autocomplete plugins'). */
async function ownCommands() {
  const config = await Config.load(REPO)
  return config.commands.filter((c) => c.pluginName === 'mixture-models')
}

test('every command has a summary, examples, and a description that does not repeat the summary', async () => {
  const commands = await ownCommands()
  assert.deepEqual(commands.map((c) => c.id).sort(), ['data:cache', 'data:fetch', 'eval', 'export', 'list', 'params', 'predict', 'report', 'run', 'schema', 'sweep', 'sweep:cancel', 'sweep:finish', 'sweep:run-point', 'sweep:status', 'table', 'validate'])
  for (const command of commands) {
    assert.ok(command.summary, `${command.id} has a summary`)
    assert.ok((command.examples ?? []).length > 0, `${command.id} has examples`)
    assert.ok(!(command.description ?? '').startsWith(command.summary!), `${command.id}'s description repeats its summary`)
  }
})

test('every --set in help text and examples names a key the spec has', async () => {
  const texts: string[] = []
  for (const command of await ownCommands()) {
    for (const example of command.examples ?? []) texts.push(typeof example === 'string' ? example : example.command)
    for (const flag of Object.values(command.flags)) texts.push(flag.summary ?? '', flag.description ?? '')
    texts.push(command.description ?? '')
  }
  const sets = [...new Set(texts.join('\n').match(/--set [\w.[\]]+=[^\s,'"]*[^\s,'".]/g) ?? [])]
  assert.ok(sets.length >= 3, `found ${sets.join(', ')}`)
  const r = mixture(['validate', 'configs/quickstart.yaml', ...sets.flatMap((s) => ['--set', s.slice('--set '.length)])])
  assert.equal(r.code, 0, `${sets.join(' ')}: ${r.stderr}`)
})

test('help shows no empty default and says what the data topic is', () => {
  const validate = mixture(['validate', '--help'])
  assert.equal(validate.code, 0)
  assert.doesNotMatch(validate.stdout, /\[default: \]/)
  assert.match(validate.stdout, /--set=<value>\.\.\. +Override a spec value/)
  const root = mixture(['--help'])
  assert.match(root.stdout, /TOPICS\n +data +Datasets in their official formats/)
  assert.match(root.stdout, /report +Write one self-contained HTML report/)
  assert.match(mixture(['data', 'fetch', '--help']).stdout, /--\[no-\]progress/)
})

/** `mixture <command> --help` as the binary prints it (the project's help class: package.json oclif.helpClass), rendered in this process. */
async function helpTexts(): Promise<{id: string; command: Command.Loadable; text: string}[]> {
  const config = await Config.load(REPO)
  const HelpClass = (await loadHelpClass(config)) as unknown as new (config: Config, options: object) => Help
  const out: string[] = []
  const help = new HelpClass(config, {stripAnsi: true})
  // showCommandHelp prints: the summary, then the sections (USAGE, ..., DESCRIPTION, EXAMPLES).
  ;(help as unknown as {log: (...args: string[]) => void}).log = (...args) => out.push(args.join(' '))
  const texts = []
  for (const command of await ownCommands()) {
    out.length = 0
    await help.showCommandHelp(command)
    texts.push({id: command.id, command, text: out.join('\n')})
  }
  return texts
}

/** Text with every run of whitespace made one space: wrapping moves line breaks. */
const flat = (s: string) => s.replace(/\s+/g, ' ').trim()

test('no command’s help shows an empty default', async () => {
  for (const {id, text} of await helpTexts()) assert.doesNotMatch(text, /\[default: \]/, `mixture ${id.replace(':', ' ')} --help`)
})

test('help shows every paragraph of a command’s description, and its summary once', async () => {
  let paragraphs = 0
  for (const {id, command, text} of await helpTexts()) {
    const where = `mixture ${id.replace(':', ' ')} --help`
    const shown = flat(text.slice(text.indexOf('DESCRIPTION')))
    for (const paragraph of (command.description ?? '').split(/\n\s*\n/)) {
      assert.ok(shown.includes(flat(paragraph)), `${where} shows "${flat(paragraph).slice(0, 60)}…"`)
      paragraphs++
    }
    const summary = flat(command.summary!)
    assert.equal(flat(text).split(summary).length - 1, 1, `${where} shows its summary once`)
  }
  assert.ok(paragraphs > 20, `${paragraphs} paragraphs checked`)
})

test('a mistyped command is named with the nearest one and exits 127 (on a terminal the plugin offers to run it)', () => {
  const flat = (text: string) => text.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ')
  const r = mixture(['tabel'])
  assert.equal(r.code, 127)
  assert.match(flat(r.stderr), /tabel is not a mixture command\. Did you mean `mixture table`\? Run `mixture help` for a list of the commands/)
  const topic = mixture(['data', 'fetc'])
  assert.equal(topic.code, 127)
  assert.match(flat(topic.stderr), /data fetc is not a mixture command\. Did you mean `mixture data fetch`\?/)
  const json = mixture(['tabel', '--json'])
  assert.equal(json.code, 127)
  assert.match(JSON.parse(json.stdout).error.message, /tabel is not a mixture command\. Did you mean `mixture table`\?/)
})

test('schema takes --json and prints the committed document either way', () => {
  const committed = JSON.parse(readFileSync(join(REPO, 'schema/spec.schema.json'), 'utf8'))
  assert.deepEqual(JSON.parse(mixture(['schema']).stdout), committed)
  const json = mixture(['schema', '--json'])
  assert.equal(json.code, 0)
  assert.deepEqual(JSON.parse(json.stdout), committed)
})

test('shell completion: the bash script completes commands and flags', () => {
  const home = tempDir()
  const env = {HOME: home, XDG_CACHE_HOME: join(home, '.cache')}
  const setup = mixture(['autocomplete', 'script', 'bash'], env)
  assert.equal(setup.code, 0, setup.stderr)
  const complete = (line: string) => {
    const words = line.split(' ')
    const script = `${setup.stdout}\nsource "$MIXTURE_AC_BASH_COMPFUNC_PATH"\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${line}'; COMP_POINT=${line.length}\n_mixture_autocomplete; echo "\${COMPREPLY[*]}"`
    const r = spawnSync('bash', ['-c', script], {encoding: 'utf8', env: {...process.env, ...env, PATH: `${join(REPO, 'bin')}:${process.env.PATH}`}})
    return r.stdout.trim()
  }
  // the completion functions are built on first use of `autocomplete`
  assert.equal(mixture(['autocomplete', 'bash'], env).code, 0)
  assert.equal(complete('mixture rep'), 'report')
  assert.match(complete('mixture table --'), /--per-seed/)
  assert.equal(complete('mixture data '), 'cache fetch')
})
