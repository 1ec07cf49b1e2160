/**
 * Lines produced one by one as a byte stream pulled by its reader: nothing is read ahead of the
 * client (the next line is asked for when the client takes the last one), and a cancelled read
 * closes the source. The first line is produced before the stream is handed out, so a failure
 * there (an unknown session, the backend down) is still an ordinary error answer; a failure later
 * cuts the stream.
 */
export async function streamLines(lines: AsyncGenerator<string>): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder()
  const first = await lines.next()
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.done) controller.close()
      else controller.enqueue(encoder.encode(first.value))
    },
    async pull(controller) {
      const next = await lines.next()
      if (next.done) controller.close()
      else controller.enqueue(encoder.encode(next.value))
    },
    async cancel() {
      await lines.return(undefined)
    },
  })
}
