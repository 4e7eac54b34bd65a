# seedvault worker and CLI image: `docker run IMAGE worker | setup | seed init | doctor | ...`
# (the entrypoint is the CLI; the arguments are its command).

# Build: production sources only. `npm ci` runs the prepare script (`npm run build:src`:
# tsc over src/ with tsconfig.src.json, then the workflow bundle); tests, benchmarks and
# the chaos suite are neither copied nor compiled.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.src.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Runtime: production dependencies, the compiled code, the CLI, config and migrations.
FROM node:20.20.2-bookworm-slim
# MALLOC_*: the worker's environment (src/worker-node-flags.ts): one malloc arena and a fixed mmap threshold keep its memory flat.
ENV NODE_ENV=production \
    SEEDVAULT_NO_LOCAL_STACK=1 \
    MALLOC_ARENA_MAX=1 \
    MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY migrations ./migrations
USER node
# Cheap probe: the CLI starts and the config (with this container's environment) is valid.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 CMD ["node", "bin/seedvault.js", "config", "check"]
# The worker's node flags (src/worker-node-flags.ts): a small young generation and a collection after each export keep its memory lower.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--expose-gc", "bin/seedvault.js"]
CMD ["worker"]
