// Opens a use of the function table (functions.def): saves any macro of the
// same name as the table's argument kinds and row macro (a program's own
// INT, say), so that the user of the table can define them; close_table.hpp
// removes them and restores the program's. No include guard: included once
// per use.

#pragma push_macro("VAR")
#undef VAR
#pragma push_macro("OPT_VAR")
#undef OPT_VAR
#pragma push_macro("REAL")
#undef REAL
#pragma push_macro("FLOAT")
#undef FLOAT
#pragma push_macro("INT")
#undef INT
#pragma push_macro("FLAG")
#undef FLAG
#pragma push_macro("INTS")
#undef INTS
#pragma push_macro("SHAPE")
#undef SHAPE
#pragma push_macro("AXIS")
#undef AXIS
#pragma push_macro("SPATIAL")
#undef SPATIAL
#pragma push_macro("SPATIAL_OPTS")
#undef SPATIAL_OPTS
#pragma push_macro("FLAG_OPTS")
#undef FLAG_OPTS
#pragma push_macro("INTS_REQ")
#undef INTS_REQ
#pragma push_macro("SHAPE_REQ")
#undef SHAPE_REQ
#pragma push_macro("NNVAE_FUNCTION")
#undef NNVAE_FUNCTION
