package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
import java.util.ArrayList;
import java.util.List;

/**
 * One or more complete frames, contiguous, as one read delivered them: a read-only slice of the
 * input. The relay forwards a batch with a single write; code that must look inside visits the frame
 * headers without allocating ({@link #forEach}) and slices out only the frames it decodes.
 *
 * <p>Every frame in a batch has already passed {@link FrameDecoder}'s checks (known type, length
 * within the limit; a server's ReadyForQuery whole, with a known status), so visitors may trust the
 * headers and that status byte.
 */
public final class FrameBatch extends DefaultByteBufHolder {

    /** Sees each frame's type, and its offset and whole length (header included) within {@link #content()}. */
    @FunctionalInterface
    public interface Visitor {
        /** @return false to stop visiting */
        boolean visit(byte type, int offset, int length);
    }

    FrameBatch(ByteBuf frames) {
        super(frames);
    }

    /** A batch of one, taking over the frame's buffer. */
    public static FrameBatch of(Frame frame) {
        return new FrameBatch(frame.content());
    }

    public void forEach(Visitor visitor) {
        ByteBuf all = content();
        int offset = all.readerIndex();
        int end = all.writerIndex();
        while (offset < end) {
            int length = all.getInt(offset + 1) + 1;
            if (!visitor.visit(all.getByte(offset), offset, length)) {
                return;
            }
            offset += length;
        }
    }

    /** Whether any frame in the batch has this type; a plain scan, no allocation. */
    public boolean contains(char type) {
        ByteBuf all = content();
        int offset = all.readerIndex();
        int end = all.writerIndex();
        while (offset < end) {
            if (all.getByte(offset) == type) {
                return true;
            }
            offset += all.getInt(offset + 1) + 1;
        }
        return false;
    }

    /** The frame at this offset as a {@link Frame} of its own (retained: the caller releases it). */
    public Frame frameAt(int offset, int length) {
        ByteBuf all = content();
        return new Frame(all.getByte(offset), all.retainedSlice(offset, length));
    }

    /** Every frame as its own {@link Frame}, each retained; for the startup paths, which decode them all. */
    public List<Frame> frames() {
        List<Frame> frames = new ArrayList<>(4);
        forEach((type, offset, length) -> frames.add(frameAt(offset, length)));
        return frames;
    }

    /** The frames from {@code offset} on, as a batch of their own (retained). */
    public FrameBatch from(int offset) {
        ByteBuf all = content();
        return new FrameBatch(all.retainedSlice(offset, all.writerIndex() - offset));
    }

    @Override
    public FrameBatch retain() {
        super.retain();
        return this;
    }

    @Override
    public String toString() {
        return "FrameBatch[" + content().readableBytes() + " bytes]";
    }
}
