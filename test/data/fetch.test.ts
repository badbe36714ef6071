import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {gzipSync} from 'node:zlib'

import {DataError, fetchDataset, loadDataset} from '../../src/data/index.js'
import {downloadFile, NetworkError, unpackMembers, verifyChecksum} from '../../src/data/fetch.js'
import {readTar} from '../../src/data/tar.js'
import {cifarFile, isolatedTmp, rmrf, tarArchive, write} from './helpers.js'

let tmp: string
let server: Server
let base: string
const files: Record<string, Uint8Array> = {}

before(async () => {
  tmp = isolatedTmp()
  server = createServer((req, res) => {
    const body = files[req.url ?? '']
    if (!body) {
      res.writeHead(404)
      res.end('not found')
      return
    }
    res.writeHead(200, {'content-length': body.length})
    res.end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(async () => {
  await new Promise((r) => server.close(r))
  rmrf(tmp)
})

async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

function cifarArchive(): Uint8Array {
  const entries = [
    {name: 'cifar-10-batches-bin/', type: '5' as const},
    ...[1, 2, 3, 4, 5].map((k) => ({name: `cifar-10-batches-bin/data_batch_${k}.bin`, data: cifarFile([[k], [k - 1]], k * 2)})),
    {name: 'cifar-10-batches-bin/batches.meta.txt', data: new TextEncoder().encode('airplane\n')},
    {name: 'test_batch.bin', prefix: 'cifar-10-batches-bin', data: cifarFile([[9]], 50)},
    {name: 'elsewhere/data_batch_1.bin', data: new Uint8Array(10)},
  ]
  return new Uint8Array(gzipSync(tarArchive(entries)))
}

describe('tar reader', () => {
  it('unpacks exactly the wanted members (ustar prefix included) and nothing else', async () => {
    const archive = write(join(tmp, 'a', 'cifar-10-binary.tar.gz'), cifarArchive())
    const out = join(tmp, 'a', 'out')
    write(join(out, '.keep'), new Uint8Array(0))
    const wanted = new Set(['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'])
    const written = await unpackMembers(archive, 'cifar-10-batches-bin', wanted, out)
    assert.equal(written.length, 6)
    assert.deepEqual(readdirSync(out).sort(), ['.keep', ...[...wanted].sort()])
    assert.deepEqual(new Uint8Array(readFileSync(join(out, 'data_batch_3.bin'))), cifarFile([[3], [2]], 6))
    assert.deepEqual(new Uint8Array(readFileSync(join(out, 'test_batch.bin'))), cifarFile([[9]], 50))
    const ds = await loadDataset({dataset: 'cifar10', image_size: 32, data_dir: out})
    assert.deepEqual([...ds.train.labels], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4])
  })

  it('reads GNU long names and feeds data in arbitrary chunk sizes', async () => {
    const long = `${'d'.repeat(120)}/file.bin`
    const payload = Uint8Array.from({length: 1300}, (_, i) => (i * 7) & 255)
    const tar = tarArchive([
      {name: '././@LongLink', type: 'L', data: new TextEncoder().encode(`${long}\0`)},
      {name: long.slice(0, 99), data: payload},
      {name: 'small.txt', data: new TextEncoder().encode('hi')},
    ])
    async function* chunks(size: number) {
      for (let i = 0; i < tar.length; i += size) yield tar.subarray(i, i + size)
    }
    for (const size of [1, 7, 511, 512, 513, 100000]) {
      const got: Record<string, number[]> = {}
      await readTar(chunks(size), (e) => {
        got[e.name] = []
        return {write: (c) => void got[e.name].push(...c), end: () => undefined}
      })
      assert.deepEqual(Object.keys(got), [long, 'small.txt'], `chunk size ${size}`)
      assert.deepEqual(got[long], [...payload])
      assert.deepEqual(got['small.txt'], [104, 105])
    }
  })

  it('reports a corrupt header or a truncated archive as a DataError naming the archive', async () => {
    const tar = tarArchive([{name: 'cifar-10-batches-bin/test_batch.bin', data: new Uint8Array(3073)}])
    const bad = tar.slice()
    bad[10] ^= 0xff
    const p1 = write(join(tmp, 'bad', 'corrupt.tar.gz'), gzipSync(bad))
    await assert.rejects(unpackMembers(p1, 'cifar-10-batches-bin', new Set(['test_batch.bin']), join(tmp, 'bad')), (e: unknown) => {
      assert.ok(e instanceof DataError)
      assert.match(e.message, /corrupt\.tar\.gz cannot be unpacked/)
      assert.match(e.message, /checksum mismatch/)
      return true
    })
    const p2 = write(join(tmp, 'bad', 'short.tar.gz'), gzipSync(tar.subarray(0, 1500)))
    await assert.rejects(unpackMembers(p2, 'cifar-10-batches-bin', new Set(['test_batch.bin']), join(tmp, 'bad')), /short\.tar\.gz cannot be unpacked \(the tar stream ends in the middle/)
    const p3 = write(join(tmp, 'bad', 'cut.tar.gz'), gzipSync(tar).subarray(0, 40))
    await assert.rejects(unpackMembers(p3, 'cifar-10-batches-bin', new Set(['test_batch.bin']), join(tmp, 'bad')), /cut\.tar\.gz cannot be unpacked/)
    await assert.rejects(unpackMembers(join(tmp, 'bad', 'absent.tar.gz'), 'x', new Set(['y']), join(tmp, 'bad')), /absent\.tar\.gz cannot be unpacked \(ENOENT/)
    assert.ok(!readdirSync(join(tmp, 'bad')).some((f) => f.includes('.part-')), 'no temporary files left behind')
    assert.ok(!existsSync(join(tmp, 'bad', 'test_batch.bin')))
  })
})

describe('checksums and downloads', () => {
  const body = Uint8Array.from({length: 5000}, (_, i) => (i * 31) & 255)
  const md5 = createHash('md5').update(body).digest('hex')
  const sha256 = createHash('sha256').update(body).digest('hex')

  it('verifies md5 and sha256 of a local file', async () => {
    const p = write(join(tmp, 'ck', 'f.bin'), body)
    await verifyChecksum(p, {md5})
    await verifyChecksum(p, {sha256: sha256.toUpperCase()})
    await assert.rejects(verifyChecksum(p, {md5: '0'.repeat(32)}), (e: unknown) => e instanceof DataError && e.message.includes(p) && e.message.includes(`md5 ${md5}`))
  })

  it('downloads through a temporary name and checks the checksum', async () => {
    files['/ok.bin'] = body
    const dest = join(tmp, 'dl', 'ok.bin')
    write(join(tmp, 'dl', '.keep'), new Uint8Array(0))
    const lines: string[] = []
    await downloadFile(`${base}/ok.bin`, dest, {checksum: {md5, sha256}, progress: false, log: (m) => lines.push(m)})
    assert.deepEqual(new Uint8Array(readFileSync(dest)), body)
    assert.match(lines.join('\n'), /checksum ok/)
    await assert.rejects(downloadFile(`${base}/ok.bin`, join(tmp, 'dl', 'bad.bin'), {checksum: {md5: 'f'.repeat(32)}, progress: false}), /does not have the published checksum/)
    assert.ok(!existsSync(join(tmp, 'dl', 'bad.bin')))
    assert.deepEqual(readdirSync(join(tmp, 'dl')).sort(), ['.keep', 'ok.bin'])
    await assert.rejects(downloadFile(`${base}/missing.bin`, join(tmp, 'dl', 'm.bin'), {progress: false}), (e: unknown) => e instanceof NetworkError && /HTTP 404/.test(e.message))
  })

  it('fails offline with the list of files to put where', async () => {
    const port = await closedPort()
    const dir = join(tmp, 'offline')
    await assert.rejects(fetchDataset('cifar10', {dataDir: dir, progress: false, mirror: `http://127.0.0.1:${port}/`}), (e: unknown) => {
      assert.ok(e instanceof DataError, String(e))
      assert.match(e.message, /Could not download dataset 'cifar10': cannot reach http:\/\/127\.0\.0\.1:\d+\/cifar-10-binary\.tar\.gz \(ECONNREFUSED\)/)
      assert.match(e.message, /data_batch_1\.bin, .*test_batch\.bin/)
      assert.ok(e.message.includes(`searched: ${dir} (--data-dir); for example`), e.message)
      assert.doesNotMatch(e.message, /\(user cache\)/, 'with --data-dir, the only place named')
      assert.match(e.message, /https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz/)
      assert.match(e.message, /MIXTURE_DATA/)
      assert.ok(e.message.includes(`put the archive cifar-10-binary.tar.gz itself into ${join(dir, 'cifar10')}/`), e.message)
      return true
    })
    assert.ok(!existsSync(dir), 'nothing half-written is left: not even the folders the fetch made')
  })

  it('rejects a served archive whose checksum is not the official one', async () => {
    files['/cifar-10-binary.tar.gz'] = cifarArchive()
    await assert.rejects(fetchDataset('cifar10', {dataDir: join(tmp, 'mirror'), progress: false, mirror: base}), /does not have the published checksum \(sha256 [0-9a-f]{64}, expected c4a38c50/)
    assert.ok(!existsSync(join(tmp, 'mirror')), 'neither the archive nor the folders the fetch made are left')
  })

  it('checks an archive placed by hand before unpacking it', async () => {
    const d = join(tmp, 'byhand')
    write(join(d, 'cifar10', 'cifar-10-binary.tar.gz'), cifarArchive())
    const port = await closedPort()
    await assert.rejects(fetchDataset('cifar10', {dataDir: d, progress: false, mirror: `http://127.0.0.1:${port}`}), (e: unknown) => {
      assert.ok(e instanceof DataError)
      assert.ok(e.message.includes(`File ${join(d, 'cifar10', 'cifar-10-binary.tar.gz')} does not have the published checksum`), e.message)
      return true
    })
  })

  it('downloads nothing when the files are present, and nothing for synthetic', async () => {
    const d = join(tmp, 'present')
    write(join(d, 'mnist', 'train-images-idx3-ubyte.gz'), new Uint8Array(1))
    write(join(d, 'mnist', 'train-labels-idx1-ubyte'), new Uint8Array(1))
    write(join(d, 'mnist', 't10k-images-idx3-ubyte.gz'), new Uint8Array(1))
    write(join(d, 'mnist', 't10k-labels-idx1-ubyte.gz'), new Uint8Array(1))
    const port = await closedPort()
    assert.equal(await fetchDataset('mnist', {dataDir: d, progress: false, mirror: `http://127.0.0.1:${port}`}), join(d, 'mnist'))
    assert.equal(await fetchDataset('synthetic', {}), '')
    await assert.rejects(fetchDataset('nope', {}), /Unknown dataset 'nope'/)
  })
})
