export { httpBackend, type HttpBackendOptions } from './http-backend.ts'
export { httpRoutes, type HttpOperation, NATIVE_API_PREFIX } from './http-routes.ts'
