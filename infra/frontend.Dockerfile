# The SPA, built with Node and served by nginx, which also proxies the API (infra/nginx.conf).
# Build from the repository root:
#   docker build -f infra/frontend.Dockerfile -t effi-frontend .

FROM node:20 AS build
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build


FROM nginx:1.27-alpine
# The image's entrypoint renders /etc/nginx/templates/*.template into /etc/nginx/conf.d/.
COPY infra/nginx.conf /etc/nginx/templates/default.conf.template
COPY --from=build /frontend/dist /usr/share/nginx/html
ENV API_UPSTREAM=api:8000 \
    MAX_FILE_SIZE_MB=8 \
    NGINX_ENTRYPOINT_LOCAL_RESOLVERS=1
EXPOSE 80
