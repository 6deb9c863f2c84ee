// One Node.js CORS middleware as a real server on 127.0.0.1, configured from a cors-conformance
// policy (conformance/adapters/node.py starts it and drives it).
//
//   node server.mjs FRAMEWORK [PORT]      FRAMEWORK: express-cors | fastify-cors | koa-cors | hono
//
// It listens on 127.0.0.1 (PORT, default 0: any free port) and prints "ready <port>" on stdout.
// POST /__cors_conformance/configure with a JSON document {options, scopes, demo} rebuilds the
// framework's app in place, so one process serves many generated policies; that path never goes
// through the framework (nor its CORS middleware), and the suite never generates it.
// Every other request goes to the current app: the framework's CORS middleware in front of the
// demo application (200 text/plain with headers worth exposing; 404 for a path ending in
// /missing), as conformance/servers/reference.py's demo_response.

import http from 'node:http'

const CONTROL_PATH = '/__cors_conformance/configure'
const framework = process.argv[2]
const port = Number(process.argv[3] || process.env.CORS_CONFORMANCE_PORT || 0)

// -- the demo application ------------------------------------------------------------------------

function demoFor (demo, method, url) {
  const path = (url || '/').split('?', 1)[0]
  const [status, headers, body] = path.endsWith('/missing') ? demo.missing : demo.ok
  return { status, headers, body: method === 'HEAD' ? '' : body }
}

function writeDemo (demo, req, res) {
  const answer = demoFor(demo, req.method, req.originalUrl || req.url)
  res.statusCode = answer.status
  for (const [name, value] of answer.headers) res.setHeader(name, value)
  res.end(answer.body)
}

// -- options from JSON: regular expressions are {"regex": "^(?:...)$"} ----------------------------

function revive (value) {
  if (Array.isArray(value)) return value.map(revive)
  if (value && typeof value === 'object') {
    if (typeof value.regex === 'string') return new RegExp(value.regex)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]))
  }
  return value
}

// -- one builder per framework: config -> a Node request listener ---------------------------------

const builders = {
  async 'express-cors' (config) {
    const { default: express } = await import('express')
    const { default: cors } = await import('cors')
    const app = express()
    app.disable('x-powered-by')
    app.set('etag', false)
    app.set('case sensitive routing', true) // the policy's path matching is case-sensitive
    for (const scope of config.scopes) {
      const router = express.Router({ caseSensitive: true })
      router.use(cors(revive(scope.options)))
      router.use((req, res) => writeDemo(config.demo, req, res))
      if (scope.prefix) app.use(scope.prefix, router)
      else app.use(router)
    }
    return app
  },

  async 'fastify-cors' (config) {
    const { default: Fastify } = await import('fastify')
    const { default: cors } = await import('@fastify/cors')
    const app = Fastify({ logger: false })
    function handler (request, reply) {
      const answer = demoFor(config.demo, request.method, request.raw.url)
      reply.code(answer.status)
      for (const [name, value] of answer.headers) reply.header(name, value)
      reply.send(answer.body)
    }
    // One encapsulated context per scope ([[paths]] tables, then the top level): its
    // @fastify/cors (an onRequest hook and an `OPTIONS <prefix>*` route) applies only to the
    // routes registered in it. HEAD comes with GET (exposeHeadRoutes).
    for (const scope of config.scopes) {
      await app.register(async (child) => {
        await child.register(cors, revive(scope.options))
        for (const url of scope.routes) {
          child.route({
            method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
            url,
            prefixTrailingSlash: 'no-slash', // url '/' is the prefix alone
            handler
          })
        }
      }, scope.prefix ? { prefix: scope.prefix } : {})
    }
    await app.ready()
    return (req, res) => app.routing(req, res)
  },

  async 'koa-cors' (config) {
    const { default: Koa } = await import('koa')
    const { default: cors } = await import('@koa/cors')
    const app = new Koa()
    app.use(cors(revive(config.options)))
    app.use((ctx) => {
      const answer = demoFor(config.demo, ctx.method, ctx.originalUrl)
      ctx.status = answer.status
      for (const [name, value] of answer.headers) ctx.set(name, value)
      ctx.body = answer.body
    })
    return app.callback()
  },

  async hono (config) {
    const { Hono } = await import('hono')
    const { cors } = await import('hono/cors')
    const { getRequestListener } = await import('@hono/node-server')
    const app = new Hono()
    function handler (c) {
      const url = new URL(c.req.url)
      const answer = demoFor(config.demo, c.req.method, url.pathname)
      return new Response(answer.body === '' ? null : answer.body, {
        status: answer.status,
        headers: answer.headers
      })
    }
    // One sub-app per [[paths]] table, grouped under its mount path, then the top level on the
    // app itself ('*'), in order: Hono runs what matches in registration order, and each group's
    // handler answers after its own cors (which answers a preflight itself), so what was
    // registered later never runs.
    for (const scope of config.scopes) {
      const group = scope.mount === null ? app : new Hono()
      const middleware = cors(revive(scope.options))
      for (const path of scope.paths) group.use(path, middleware)
      for (const path of scope.paths) group.all(path, handler)
      if (group !== app) app.route(scope.mount, group)
    }
    return getRequestListener(app.fetch)
  }
}

if (!(framework in builders)) {
  console.error(`unknown framework ${JSON.stringify(framework)} (known: ${Object.keys(builders).join(', ')})`)
  process.exit(2)
}

let current = (req, res) => {
  res.statusCode = 503
  res.end('not configured yet\n')
}

async function configure (req, res) {
  let text = ''
  for await (const chunk of req) text += chunk
  try {
    current = await builders[framework](JSON.parse(text))
    res.statusCode = 204
    res.end()
  } catch (error) {
    res.statusCode = 500
    res.setHeader('Content-Type', 'text/plain')
    res.end(`configure failed: ${error && error.stack ? error.stack : error}\n`)
  }
}

const server = http.createServer((req, res) => {
  if (req.url === CONTROL_PATH && req.method === 'POST') {
    configure(req, res)
    return
  }
  current(req, res)
})
server.keepAliveTimeout = 30000
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`)
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
    setTimeout(() => process.exit(0), 1000).unref()
  })
}
// The suite's process holds our stdin: when it goes away, so do we.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
