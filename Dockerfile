# syntax=docker/dockerfile:1
# Build stage: install with dev dependencies (Prisma's generator runs at install), bundle the
# service (npm run build: dist/), then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: the bundle (dist/, which holds the generated Prisma clients), the production
# dependencies (no tsx, esbuild or build tools: dev dependencies are pruned above; typescript and
# prisma stay only as peers that @prisma/client and tRPC declare), the migrations and the /qr page's
# assets, which are read at start-up. No sources.
FROM node:20-bookworm-slim
# ffmpeg turns audio in other formats into the Ogg/Opus WhatsApp plays as a voice note.
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
# GLIBC_TUNABLES: large allocations get their own mappings, returned to the system when freed (glibc
# otherwise keeps about 45 MB of start-up garbage, mostly from compiling Prisma's WebAssembly). Same
# as `npm start`; see README "Memory".
# HOST=0.0.0.0: a container is reached through its published port, so it listens on every interface
# (outside a container the service keeps to 127.0.0.1 when it has no API_KEY). Run it with
# `-e API_KEY=...`; without one it still starts, and its log warns that the API is open (README "Security").
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 DATABASE_URL=file:/app/data/wsgo.db GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072
WORKDIR /app
# Owned by root: the code is read-only to the user the service runs as; only /app/data is writable.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/src/http/pages ./src/http/pages
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The same node command as `npm start` (tests/build.test.ts checks they match).
CMD ["node", "--max-old-space-size=320", "--max-semi-space-size=4", "--wasm-tiering-budget=100000000", "--heap-growing-percent=10", "dist/server.mjs"]
