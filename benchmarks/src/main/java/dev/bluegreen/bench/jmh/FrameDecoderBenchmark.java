package dev.bluegreen.bench.jmh;

import dev.bluegreen.proxy.protocol.Direction;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.FrameDecoder;
import dev.bluegreen.proxy.protocol.Wire;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Splitting a server's result stream into frames, the work every byte from blue goes through:
 * a query result of {@value #ROWS} one-column DataRows, then CommandComplete and ReadyForQuery,
 * arriving as socket reads of {@code readBytes} into fresh pooled direct buffers, as the epoll
 * transport delivers them. Reads cut frames at arbitrary points, so small reads exercise the
 * cumulation path and large ones the zero-copy slicing. Every frame is released as it comes out.
 *
 * <p>Scores are frames per second. {@link #readsOnly} does the same reads without the decoder:
 * the difference between the two is what framing costs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FrameDecoderBenchmark {

    static final int ROWS = 1000;
    private static final int FRAMES = ROWS + 2;

    /** Size of the single column value in each DataRow. */
    @Param({"16", "256"})
    public int valueBytes;

    /** Bytes per socket read; 1024 splits most frames of the wide rows, 65536 few. */
    @Param({"1024", "65536"})
    public int readBytes;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private ByteBuf wire;
    private EmbeddedChannel channel;
    private ChannelPipeline pipeline;
    private FrameSink sink;

    @Setup(Level.Trial)
    public void setUp() {
        wire = resultStream(ROWS, valueBytes);
        sink = new FrameSink();
        channel = new EmbeddedChannel(new FrameDecoder(Direction.BACKEND, 256 << 20), sink);
        pipeline = channel.pipeline();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (channel.finish()) {
            throw new IllegalStateException("frames left in the channel");
        }
        if (sink.frames % FRAMES != 0) {
            throw new IllegalStateException("decoded " + sink.frames + " frames, not a multiple of " + FRAMES);
        }
        wire.release();
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long decode() {
        long before = sink.frames;
        int length = wire.readableBytes();
        for (int offset = 0; offset < length; offset += readBytes) {
            pipeline.fireChannelRead(read(offset, Math.min(readBytes, length - offset)));
        }
        pipeline.fireChannelReadComplete();
        return sink.frames - before;
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public int readsOnly() {
        int length = wire.readableBytes();
        int checksum = 0;
        for (int offset = 0; offset < length; offset += readBytes) {
            ByteBuf read = read(offset, Math.min(readBytes, length - offset));
            checksum += read.getByte(0);
            read.release();
        }
        return checksum;
    }

    /** What a socket read hands the pipeline: a new pooled direct buffer holding the next bytes. */
    private ByteBuf read(int offset, int length) {
        ByteBuf read = alloc.directBuffer(length);
        read.writeBytes(wire, offset, length);
        return read;
    }

    /** {@code rows} DataRows of one {@code valueBytes}-byte column, CommandComplete, ReadyForQuery(idle). */
    static ByteBuf resultStream(int rows, int valueBytes) {
        ByteBuf out = Unpooled.directBuffer();
        byte[] value = new byte[valueBytes];
        Arrays.fill(value, (byte) 'x');
        for (int i = 0; i < rows; i++) {
            int at = Wire.beginMessage(out, 'D');
            out.writeShort(1);
            out.writeInt(valueBytes);
            out.writeBytes(value);
            Wire.endMessage(out, at);
        }
        int at = Wire.beginMessage(out, 'C');
        Wire.writeCString(out, "SELECT " + rows);
        Wire.endMessage(out, at);
        at = Wire.beginMessage(out, 'Z');
        out.writeByte('I');
        Wire.endMessage(out, at);
        return out;
    }

    /** The end of the pipeline: counts the frames of each batch (as the relay's scan does) and releases it. */
    static final class FrameSink extends ChannelInboundHandlerAdapter {
        long frames;
        private final FrameBatch.Visitor counter = (type, offset, length) -> {
            frames++;
            return true;
        };

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            FrameBatch batch = (FrameBatch) msg;
            batch.forEach(counter);
            batch.release();
        }
    }
}
