extension MQTTClient {
    /// Inbound messages of every subscription, in the order libmosquitto received them.
    ///
    /// Buffering is bounded by ``MQTTConfiguration/messageBufferCapacity``: when the buffer is full,
    /// libmosquitto's loop thread waits in its message callback until the consumer takes messages. A slow
    /// consumer therefore slows intake instead of losing messages: the socket is not read, TCP pushes back,
    /// and the broker queues QoS 1/2 messages for this client (DTP's broker config lets it queue a million).
    /// The price: while it waits, the loop thread sends no keepalive PINGREQ, nor PUBACKs, nor the requests
    /// of other tasks, so a consumer stalled for longer than 1.5 × keepalive gets the connection dropped by
    /// the broker (and then resumed by the reconnect logic; a persistent session keeps what was queued).
    /// A consumer that may stall must keep its own work off the iteration, or use a larger buffer.
    ///
    /// Hand-over is batched: a waiting consumer is woken once the socket holds no further PUBLISH (or after
    /// 64 messages), and a consumer that finds the buffer empty yields its thread a few times before
    /// parking, so a fast stream costs a thread wake-up per batch rather than per message.
    ///
    /// The buffer holds at most `messageBufferCapacity` messages plus the batch the iterator is handing out.
    /// One consumer at a time: a second concurrent iterator ends the first. Cancelling the consuming task
    /// ends its iteration (never deadlocking the loop thread, which keeps waiting for room until the next
    /// consumer or ``disconnect()``). After ``disconnect()`` or when the client is released, the sequence
    /// yields what was buffered and then ends. libmosquitto acknowledges a QoS 1 message before handing it
    /// over, so a message in the buffer when the process dies is lost, as with any libmosquitto client.
    public var messages: MQTTMessages { MQTTMessages(buffer: core.buffer) }
}
