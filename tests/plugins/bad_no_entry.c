/* A shared object that is not a cvlization plugin: no entry symbol. */
__attribute__((visibility("default"))) int some_other_function(void);
__attribute__((visibility("default"))) int some_other_function(void) { return 42; }
