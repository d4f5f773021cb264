// Entry point for TypeScript clients: `import type { AppRouter } from 'wsgo-ts/client'`, then
// createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: 'http://host:8080/trpc', headers: { 'X-API-Key': key } })] }).
export type { AppRouter } from './routers/index.js'
