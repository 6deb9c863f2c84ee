// Prints, as JSON on stdout, the CORS options a user's module exports, for cors-conformance's
// read-policy (conformance/adapters/node_options.py reads them into a policy).
//
//   node read-options.mjs FILE
//
// FILE is an ES module (.mjs, or .js in a "type": "module" package), a CommonJS module (.cjs, or
// .js otherwise) or a .json file. Its default export (module.exports for CommonJS; a promise is
// awaited) is the options object given to the CORS middleware (cors(options) for express,
// @koa/cors and hono; fastify.register(cors, options) for @fastify/cors), or, for express, an
// array of {path, options} scopes. The module is imported, so its top-level code runs.
//
// What JSON cannot carry is spelled as a one-key object:
//   a RegExp                  {"regex": source, "flags": flags}
//   a function                {"function": its name, or "anonymous"}
//   undefined                 {"undefined": true}   (a key set to undefined is not a key left out)
//   NaN, Infinity, -Infinity  {"number": "NaN" | "Infinity" | "-Infinity"}
//   anything else             {"unsupported": what it is}   (a Map, a class instance, a symbol...)
// Booleans, strings, finite numbers, null, arrays and plain objects are as they are.
//
// Exit status: 0 with one line of JSON, the last line on stdout (the module may print before
// it); 2 for bad usage or a missing file; 1 when the module cannot be loaded (it throws, or is
// not valid), has no default export, or exports something that cannot be written out. The
// reason goes to stderr.

import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

function fail (status, message) {
  process.stderr.write(`read-options: ${message}\n`)
  process.exit(status)
}

function describe (error) {
  return String((error && error.stack) || error)
}

function encode (value, where, seen) {
  if (value === undefined) return { undefined: true }
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : { number: String(value) }
  }
  if (typeof value === 'function') return { function: value.name || 'anonymous' }
  if (typeof value === 'bigint') return { unsupported: `a BigInt (${value}n)` }
  if (typeof value === 'symbol') return { unsupported: `a symbol (${String(value)})` }
  if (value instanceof RegExp) return { regex: value.source, flags: value.flags }
  if (seen.has(value)) fail(1, `${where}: a circular reference`)
  seen.add(value)
  let out
  if (Array.isArray(value)) {
    out = []
    for (let index = 0; index < value.length; index++) {
      out.push(encode(value[index], `${where}[${index}]`, seen))
    }
  } else {
    const prototype = Object.getPrototypeOf(value)
    if (prototype === Object.prototype || prototype === null) {
      out = {}
      for (const [key, item] of Object.entries(value)) {
        out[key] = encode(item, `${where}.${key}`, seen)
      }
    } else {
      const name = (value.constructor && value.constructor.name) || 'an unknown class'
      out = { unsupported: `an instance of ${name}` }
    }
  }
  seen.delete(value)
  return out
}

async function load (file) {
  const absolute = path.resolve(file)
  let info
  try {
    info = await stat(absolute)
  } catch {
    fail(2, `${file}: no such file`)
  }
  if (!info.isFile()) fail(2, `${file}: not a file`)
  if (absolute.endsWith('.json')) {
    try {
      return JSON.parse(await readFile(absolute, 'utf8'))
    } catch (error) {
      fail(1, `${file}: not valid JSON: ${error.message}`)
    }
  }
  let namespace
  try {
    namespace = await import(pathToFileURL(absolute).href)
  } catch (error) {
    fail(1, `${file}: the module failed to load: ${describe(error)}`)
  }
  if (!('default' in namespace)) {
    const names = Object.keys(namespace)
    const has = names.length ? `it exports ${names.join(', ')}` : 'it exports nothing'
    fail(1, `${file}: no default export (${has}); export the options object with ` +
      '`export default` (or `module.exports =` in CommonJS)')
  }
  let exported = namespace.default
  if (exported && typeof exported.then === 'function') {
    try {
      exported = await exported
    } catch (error) {
      fail(1, `${file}: its default export is a promise that rejected: ${describe(error)}`)
    }
  }
  return exported
}

const args = process.argv.slice(2)
if (args.length !== 1) fail(2, 'usage: node read-options.mjs FILE')
const exported = await load(args[0])
const text = JSON.stringify(encode(exported, 'the default export', new Set()))
// Exit at once: the module may have started timers or servers that would keep node running.
process.stdout.write(`${text}\n`, () => process.exit(0))
