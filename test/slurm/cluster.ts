/**
 * A real one-node Slurm cluster for the test suite: slurmctld and slurmd from the Debian packages,
 * configured in a temporary folder (free ports, state and spool folders, no accounting, no auth
 * daemon), run as root, and reached by the client commands through SLURM_CONF. `startCluster`
 * waits (time-bounded) until the node is idle and fails with the daemons' logs otherwise; `stop`
 * cancels every job, waits for the queue to empty, and stops both daemons by pid; a process exit
 * kills them too, so that no daemon is left behind when a test fails.
 *
 * Two settings keep the suite quick and are not for real clusters: a requeued job may start again
 * 5 s after it was requeued (AuthInfo=cred_expire=5; the default is 120 s) and the scheduler looks
 * at the queue every second.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type AddressInfo} from 'node:net'
import {availableParallelism, totalmem} from 'node:os'
import {join} from 'node:path'
import {tempDir} from '../helpers.js'

const NEEDED = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'scontrol', 'sinfo']
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`

/** Why this machine cannot run the suite's cluster, or false. */
export function slurmMissing(): string | false {
  const missing = NEEDED.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`], {env: {...process.env, PATH}}).status !== 0)
  if (missing.length > 0) return `${missing.join(', ')} not found`
  if (process.getuid?.() !== 0) return 'the suite\'s cluster runs its daemons as root (SlurmUser=root), and the tests do not run as root'
  return false
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface Cluster {
  /** SLURM_CONF for the client commands (also set in this process's environment). */
  env: {SLURM_CONF: string}
  /** The last lines of both daemons' logs, for a failure message. */
  logs(): string
  stop(): Promise<void>
}

function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(${file} was not written)`
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
}

async function until(what: string, ok: () => boolean, ms: number, failure: () => string): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what} within ${ms / 1000} s\n${failure()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

export async function startCluster(): Promise<Cluster> {
  const root = tempDir('mixture-slurm-')
  for (const d of ['state', 'spool', 'log']) mkdirSync(join(root, d))
  let ctldPort = await freePort()
  const dPort = await freePort()
  while (ctldPort === dPort) ctldPort = await freePort()
  const cpus = Math.min(2, availableParallelism())
  const memory = Math.max(1000, Math.min(8000, Math.floor(totalmem() / 2 ** 20 / 2)))
  const conf = join(root, 'slurm.conf')
  writeFileSync(
    conf,
    [
      'ClusterName=mixture',
      'SlurmctldHost=localhost',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/none',
      'CredType=cred/none',
      // A requeued job may start again after cred_expire + 1 s (default 120 s): 5 s keeps the suite quick.
      'AuthInfo=cred_expire=5',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core_Memory',
      'SchedulerParameters=sched_interval=1',
      `StateSaveLocation=${join(root, 'state')}`,
      `SlurmdSpoolDir=${join(root, 'spool')}`,
      `SlurmctldPidFile=${join(root, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(root, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(root, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(root, 'log', 'slurmd.log')}`,
      'SlurmUser=root',
      'ReturnToService=2',
      'MpiDefault=none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      `DefMemPerCPU=${Math.floor(memory / cpus / 2)}`,
      `NodeName=localhost CPUs=${cpus} RealMemory=${memory} State=UNKNOWN`,
      'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
      // A partition with a time limit, for the checks of launcher times against it.
      'PartitionName=short Nodes=localhost MaxTime=2 State=UP',
      '',
    ].join('\n'),
  )
  const env = {SLURM_CONF: conf}
  process.env.SLURM_CONF = conf
  const daemons: ChildProcess[] = []
  const killAll = () => {
    for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL')
  }
  process.once('exit', killAll)
  for (const name of ['slurmctld', 'slurmd']) {
    const out = openSync(join(root, 'log', `${name}.out`), 'a')
    daemons.push(spawn(name, ['-D', '-f', conf], {stdio: ['ignore', out, out], env: {...process.env, ...env, PATH}}))
    closeSync(out)
  }
  const logs = () =>
    ['slurmctld.log', 'slurmd.log', 'slurmctld.out', 'slurmd.out'].map((f) => `--- ${f}\n${tail(join(root, 'log', f))}`).join('\n')
  const client = (command: string, args: string[]) => spawnSync(command, args, {encoding: 'utf8', env: {...process.env, ...env}})

  const stop = async () => {
    try {
      client('scancel', ['--user', 'root'])
      await until('the queue emptied', () => client('squeue', ['-h']).stdout.trim() === '', 30_000, logs).catch((e) => process.stderr.write(`${(e as Error).message}\n`))
    } finally {
      for (const d of daemons) d.kill('SIGTERM')
      await until('the daemons stopped', () => daemons.every((d) => d.exitCode !== null || d.signalCode !== null), 10_000, logs).catch(() => undefined)
      killAll()
      process.off('exit', killAll)
    }
  }
  try {
    await until(
      'the node became idle',
      () => {
        if (daemons.some((d) => d.exitCode !== null)) throw new Error(`a Slurm daemon exited at start\n${logs()}`)
        return client('sinfo', ['-h', '-o', '%T']).stdout.trim() === 'idle'
      },
      30_000,
      logs,
    )
  } catch (error) {
    await stop()
    throw error
  }
  return {env, logs, stop}
}
