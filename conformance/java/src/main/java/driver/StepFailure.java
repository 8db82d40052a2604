package driver;

/** A check that did not hold; its message is the reason printed after {@code FAIL n ...:}. */
final class StepFailure extends Exception {
    StepFailure(String reason) {
        super(reason);
    }
}
