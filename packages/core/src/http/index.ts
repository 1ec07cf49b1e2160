export { httpBackend, type HttpBackendOptions } from './http-backend.ts'
export { httpRoutes, type HttpOperation } from './http-routes.ts'
