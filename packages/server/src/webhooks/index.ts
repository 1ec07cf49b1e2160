// Signed webhooks: the memory store, the signature, the target check (the routes are in `haldir-api/routes`).
export { memoryWebhookStore } from './memory-webhook-store.ts'
export { signWebhook } from './sign-webhook.ts'
export { isPublicAddress, resolveWebhookTarget, type WebhookTarget } from './webhook-target.ts'
export { type WebhookDeliveryOptions, type WebhookDispatcher, webhookDispatcher } from './webhook-dispatcher.ts'
export { MAX_WEBHOOK_BODY_BYTES, webhookBody, webhookEventName, webhookWants } from './webhook-payload.ts'
export { type PostOutcome, postWebhook } from './post-webhook.ts'
