package dev.bluegreen.proxy.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code file} state store (DESIGN §7): one proxy instance, its routing state and rollout plan in
 * {@code <stateDir>/state.json}, every change appended to {@code <stateDir>/history.jsonl}.
 *
 * <p>Invariant, whatever instant the process is killed at: {@code state.json} holds the state before a
 * change or the state after it, never a mix, because it is only ever replaced by renaming a complete,
 * fsync'd file over it; and every state it holds has its history line, because the line is appended and
 * fsync'd before the rename. A history line of the one change after the stored state (a crash between the
 * two writes) is dropped when the store opens; lines further ahead mean the state file is older than its
 * history (a restored backup), and the store refuses to open. A {@link DirectoryLock}, held from open to
 * close, keeps a second proxy out of the directory; a file the store cannot read is refused and left as it is.
 */
public final class FileStateStore implements StateStore {

    private static final Logger log = LoggerFactory.getLogger(FileStateStore.class);

    static final String STATE_FILE = "state.json";
    static final String HISTORY_FILE = "history.jsonl";
    /** There from open to close: found at open, the proxy before stopped without closing the store. */
    static final String RUNNING_FILE = "running";

    private final Path dir;
    private final Path stateFile;
    private final Path historyFile;

    // all guarded by this
    private DirectoryLock lock;
    private FileChannel history;
    private boolean closed;
    private boolean endedUncleanly;
    private boolean notAllSaved;
    /** What {@code state.json} holds. */
    private RoutingState state;
    private Plan plan;

    public FileStateStore(Path stateDir) {
        this.dir = stateDir.toAbsolutePath().normalize();
        this.stateFile = dir.resolve(STATE_FILE);
        this.historyFile = dir.resolve(HISTORY_FILE);
    }

    /** One proxy alone: nobody else changes the state, so {@code peer} is never called. */
    @Override
    public synchronized Snapshot open(Peer peer) throws Failure {
        if (lock != null || closed) {
            throw new IllegalStateException(describe() + " is already open or closed");
        }
        lock = DirectoryLock.take(dir);
        try {
            StateCodec.Document stored = readState();
            TreeMap<Long, HistoryEntry> entries = readHistory(stored.state().epoch());
            history = FileChannel.open(historyFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            Path running = dir.resolve(RUNNING_FILE);
            endedUncleanly = Files.exists(running);
            if (!endedUncleanly) {
                Files.createFile(running);
            }
            syncDirectory(); // the history file and the running mark may be new
            Files.deleteIfExists(temporary(stateFile)); // a crash mid-write leaves it; state.json is intact
            state = stored.state();
            plan = stored.plan();
            log.info("state store opened store={} epoch={} history={} previous_run_closed_it={}", describe(), state.epoch(),
                    entries.size(), !endedUncleanly);
            return new Snapshot(state, List.copyOf(entries.values()), plan);
        } catch (IOException e) {
            release();
            throw new Failure("cannot open the state in " + dir + ": " + e, e);
        } catch (Failure | RuntimeException e) {
            release();
            throw e;
        }
    }

    @Override
    public synchronized SharedBarrier barrier(String command, long fromEpoch, Duration timeout) throws Conflict, Failure {
        requireOpen();
        if (state.epoch() != fromEpoch) {
            throw new Conflict("the stored epoch is " + state.epoch() + ", not " + fromEpoch, stored());
        }
        return ALONE;
    }

    /**
     * History line first, fsync'd; then the state file. A crash in between leaves a line ahead of the state,
     * which the next open drops; a failure in between takes the line back at once.
     */
    @Override
    public synchronized void save(long expectedEpoch, HistoryEntry change, Plan newPlan, SharedBarrier barrier)
            throws Conflict, Failure {
        requireOpen();
        if (state.epoch() != expectedEpoch) {
            throw new Conflict("the stored epoch is " + state.epoch() + ", not " + expectedEpoch, stored());
        }
        if (change.epoch() <= expectedEpoch || change.state().epoch() != change.epoch()) {
            throw new IllegalArgumentException("a change must move the epoch on from " + expectedEpoch
                    + ", was entry " + change.epoch() + " state " + change.state().epoch());
        }
        long historySize;
        try {
            historySize = history.size();
        } catch (IOException e) {
            throw new Failure("cannot append to " + historyFile + ": " + e, e);
        }
        try {
            writeFully(history, ByteBuffer.wrap((StateCodec.writeEntry(change) + "\n").getBytes(UTF_8)), historySize);
            history.force(true);
        } catch (IOException e) {
            takeBack(historySize); // half a line followed by whole ones would make the file unreadable
            throw new Failure("cannot append to " + historyFile + ": " + e, e);
        }
        try {
            replaceState(change.state(), newPlan);
        } catch (IOException e) {
            takeBack(historySize);
            throw new Failure("cannot write " + stateFile + ": " + e, e);
        }
        state = change.state();
        plan = newPlan;
    }

    @Override
    public String instance() {
        return "local";
    }

    @Override
    public String describe() {
        return "file " + stateFile;
    }

    @Override
    public synchronized boolean endedUncleanly() {
        return endedUncleanly;
    }

    @Override
    public synchronized void notAllSaved() {
        notAllSaved = true;
    }

    /** Closes the store; the next open finds it was closed, unless this one never opened or did not save all. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (lock != null && !notAllSaved) {
            try {
                Files.deleteIfExists(dir.resolve(RUNNING_FILE));
            } catch (IOException e) {
                log.warn("cannot remove {}: the next start takes this stop for a crash: {}", dir.resolve(RUNNING_FILE), e.toString());
            }
        }
        release();
    }

    private void release() {
        closeQuietly(history);
        history = null;
        if (lock != null) {
            lock.close();
            lock = null;
        }
    }

    private void requireOpen() throws Failure {
        if (lock == null) {
            throw new Failure(describe() + " is " + (closed ? "closed" : "not open"), null);
        }
    }

    private Snapshot stored() {
        return new Snapshot(state, List.of(), plan);
    }

    private StateCodec.Document readState() throws Failure {
        String json;
        try {
            json = Files.readString(stateFile, UTF_8);
        } catch (NoSuchFileException e) {
            return new StateCodec.Document(RoutingState.initial(), null);
        } catch (CharacterCodingException e) {
            throw corrupt(stateFile, "not UTF-8 text");
        } catch (IOException e) {
            throw new Failure("cannot read " + stateFile + ": " + e, e);
        }
        try {
            return StateCodec.readDocument(json);
        } catch (StateCodec.Malformed e) {
            throw corrupt(stateFile, e.getMessage());
        }
    }

    private static Failure corrupt(Path file, String problem) {
        return new Failure(file + " is corrupt (" + problem + "); it was left as it is: restore it or repair it by "
                + "hand; the proxy will not start on a routing state it cannot read", null);
    }

    /**
     * The most recent {@link RoutingControl#HISTORY_KEPT} entries up to {@code storedEpoch}. Lines of the one
     * change after the stored state (a crash between the two writes), and a last line cut short by a crash
     * mid-append, are dropped and the file rewritten without them; a line further ahead (the state file is
     * older than its history) and any other unreadable line are refused, and the file left as it is.
     */
    private TreeMap<Long, HistoryEntry> readHistory(long storedEpoch) throws Failure, IOException {
        TreeMap<Long, HistoryEntry> entries = new TreeMap<>();
        if (!Files.exists(historyFile)) {
            return entries;
        }
        boolean lastLineCut = !endsWithNewline(historyFile);
        BitSet dropped = new BitSet();
        long highestDropped = 0;
        int lines = 0;
        try (BufferedReader reader = Files.newBufferedReader(historyFile, UTF_8)) {
            String line;
            String next = reader.readLine();
            while ((line = next) != null) {
                next = reader.readLine();
                int number = lines++;
                boolean cut = next == null && lastLineCut;
                if (line.isBlank() && !cut) {
                    continue;
                }
                HistoryEntry entry;
                try {
                    entry = StateCodec.readEntry(line);
                } catch (StateCodec.Malformed e) {
                    if (cut) {
                        dropped.set(number);
                        continue;
                    }
                    throw corrupt(historyFile, "line " + (number + 1) + ": " + e.getMessage());
                }
                if (entry.epoch() > storedEpoch) {
                    dropped.set(number);
                    highestDropped = Math.max(highestDropped, entry.epoch());
                    continue;
                }
                entries.put(entry.epoch(), entry); // a retried save's line replaces the failed one's
                if (entries.size() > RoutingControl.HISTORY_KEPT) {
                    entries.pollFirstEntry();
                }
            }
        } catch (CharacterCodingException e) {
            throw corrupt(historyFile, "not UTF-8 text");
        }
        if (highestDropped > storedEpoch + 1) {
            // one crash loses at most the one change whose line was appended last: more means state.json was
            // removed, or replaced by an older copy (a backup restored, a file copied by hand). Starting from it
            // while the history says otherwise could send writes to the wrong cluster, and the repair below
            // would delete the newer history: refuse, and touch neither file.
            if (!Files.exists(stateFile)) {
                throw new Failure(stateFile + " is missing but " + historyFile + " records changes up to epoch "
                        + highestDropped + ": restore " + STATE_FILE + ", or move " + HISTORY_FILE
                        + " away to start again from blue alone", null);
            }
            throw new Failure(stateFile + " holds epoch " + storedEpoch + " but " + historyFile
                    + " records changes up to epoch " + highestDropped + ": the state file is older than its history"
                    + " (restored from a backup?) and the proxy will not start on it; restore the " + STATE_FILE
                    + " that goes with this history, or, to start from this one, move " + HISTORY_FILE
                    + " away (or remove its lines after epoch " + storedEpoch + ")", null);
        }
        if (!dropped.isEmpty() || lastLineCut) {
            rewriteHistory(dropped);
            log.warn("state history repaired store={} dropped={} reason={}", describe(), dropped.cardinality(),
                    "changes recorded but never saved (a crash between the two writes)");
        }
        return entries;
    }

    private static boolean endsWithNewline(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size == 0) {
                return true;
            }
            ByteBuffer last = ByteBuffer.allocate(1);
            channel.read(last, size - 1);
            return last.get(0) == '\n';
        }
    }

    /** Keeps every line not in {@code dropped}, each ended by a newline, replacing the file atomically. */
    private void rewriteHistory(BitSet dropped) throws IOException {
        Path temporary = temporary(historyFile);
        try (BufferedReader reader = Files.newBufferedReader(historyFile, UTF_8);
             FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            String line;
            int number = 0;
            long position = 0;
            while ((line = reader.readLine()) != null) {
                if (!dropped.get(number++) && !line.isBlank()) {
                    position += writeFully(out, ByteBuffer.wrap((line + "\n").getBytes(UTF_8)), position);
                }
            }
            out.force(true);
        }
        Files.move(temporary, historyFile, StandardCopyOption.ATOMIC_MOVE);
        syncDirectory();
    }

    /** Write, fsync, rename over, fsync the directory: the rename is what makes the change all or nothing. */
    private void replaceState(RoutingState newState, Plan newPlan) throws IOException {
        Path temporary = temporary(stateFile);
        byte[] document = (StateCodec.writeDocument(newState, newPlan) + "\n").getBytes(UTF_8);
        try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(out, ByteBuffer.wrap(document), 0);
            out.force(true);
        }
        Files.move(temporary, stateFile, StandardCopyOption.ATOMIC_MOVE);
        syncDirectory();
    }

    /** After a failed write: the line must not stay ahead of the state for the rest of this run. */
    private void takeBack(long historySize) {
        try {
            history.truncate(historySize);
            history.force(true);
        } catch (IOException e) {
            // harmless: a retry appends the same epoch again and the later line wins; a restart drops it
            log.warn("history line not taken back store={} reason={}", describe(), e.toString());
        }
    }

    /** Makes a rename or a new file durable; some platforms refuse to open a directory, and need not. */
    private void syncDirectory() {
        try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
            directory.force(true);
        } catch (IOException e) {
            log.debug("directory not fsync'd store={} reason={}", describe(), e.toString());
        }
    }

    private static Path temporary(Path file) {
        return file.resolveSibling(file.getFileName() + ".tmp");
    }

    private static int writeFully(FileChannel channel, ByteBuffer bytes, long position) throws IOException {
        int written = 0;
        while (bytes.hasRemaining()) {
            written += channel.write(bytes, position + written);
        }
        return written;
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("close failed reason={}", e.toString());
        }
    }
}
